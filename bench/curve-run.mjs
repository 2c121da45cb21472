// `npm run bench -- --curve`: the cost curve. Synthetic trees of 10 000, 100 000 and
// 1 000 000 entries (files of 0–511 bytes, 1000 to a folder, plus one 20 GiB sparse
// file; bench/scale.mjs builds them) written to ext4 and squashfs, each in its own
// process under /usr/bin/time, and checked (e2fsck -fn; unsquashfs -lln listing every
// entry). Prints wall time and peak RSS per entry for each size, so the growth shows
// linear (or not); the 1 000 000-entry builds must stay under 2 GiB of RSS.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkImage, dataFile } from './scale-run.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 2 ** 20;
const SIZES = [10_000, 100_000, 1_000_000];
const SPARSE_GIB = 20;
const MAX_SIZE = 512;
const RSS_LIMIT_KB = 2 * 1024 * 1024;

/** Entries below the root: the files, their folders (1000 files each), the sparse file. */
const entriesOf = (files) => files + Math.ceil(files / 1000) + 1;

export async function runCurve({ json, log, machine, describeMachine, timed, setWork }) {
  const work = mkdtempSync(join(tmpdir(), 'fledge-pure-bench-curve-'));
  setWork(work);
  const results = [];
  try {
    const data = join(work, 'data.bin');
    dataFile(data);
    for (const type of ['ext4', 'squashfs'])
      for (const files of SIZES) results.push(runOne(type, files, { work, data, log, timed }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ machine, curve: results }, null, 2) + '\n');
    return;
  }
  const lines = results.map((r, k) => {
    if (!r.available) return `| ${r.type} | ${r.entries} | not available: ${r.reason} | | | | | | |`;
    // the growth from the previous size of the same filesystem: the per-entry cost without the process's fixed part
    const prev = results[k - 1]?.type === r.type && results[k - 1].available ? results[k - 1] : undefined;
    const growth = prev ? (((r.rssKB - prev.rssKB) * 1024) / (r.entries - prev.entries)).toFixed(0) : '';
    return (
      `| ${r.type} | ${r.entries} | ${r.wall.toFixed(1)} | ${((r.wall / r.entries) * 1e6).toFixed(0)} | ` +
      `${(r.rssKB / 1024).toFixed(0)} | ${((r.rssKB * 1024) / r.entries).toFixed(0)} | ${growth} | ` +
      `${(r.bytes / MiB).toFixed(0)} (${(r.allocatedBytes / MiB).toFixed(0)} allocated) | ${r.check} |`
    );
  });
  const over = results.filter((r) => r.available && r.entries > 999_999 && r.rssKB >= RSS_LIMIT_KB);
  process.stdout.write(
    `${describeMachine(machine)}\ninput: N files (0–511 bytes, 1000 to a folder) + a ${SPARSE_GIB} GiB sparse file ` +
      `(3 islands)\n\n| fs | entries | wall s | µs/entry | peak RSS MiB | RSS bytes/entry | RSS growth bytes/entry | image MiB | check |\n` +
      `|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n` +
      (over.length ? `\n1 000 000 entries OVER 2 GiB RSS: ${over.map((r) => r.type).join(', ')}\n` : ''),
  );
}

function runOne(type, files, { work, data, log, timed }) {
  const entries = entriesOf(files);
  const out = join(work, type === 'ext4' ? 'curve.img' : 'curve.squashfs');
  const r = { case: `curve ${type} ${entries}`, type, entries, tool: 'fledge-pure', available: true };
  log(`curve: ${type}: ${entries} entries + ${SPARSE_GIB} GiB sparse`);
  try {
    const args = [type, out, data, String(files), String(SPARSE_GIB), String(MAX_SIZE)];
    const t = timed(['node', join(HERE, 'scale.mjs'), ...args]);
    const st = statSync(out);
    Object.assign(r, { wall: t.wall, rssKB: t.rssKB, bytes: st.size, allocatedBytes: st.blocks * 512 });
  } catch (e) {
    Object.assign(r, { available: false, reason: e.message.replace(/^.*?fledge-pure: /, '') });
    log(`curve: ${type}: not available: ${r.reason}`);
    return r;
  }
  log(
    `curve: ${type}: ${entries} entries: ${r.wall.toFixed(1)} s, peak RSS ${(r.rssKB / 1024).toFixed(0)} MiB; checking`,
  );
  r.check = checkImage(type, out, entries);
  log(`curve: ${type}: ${entries} entries: ${r.check}`);
  rmSync(out, { force: true });
  return r;
}
