// `npm run bench -- --scale`: 200 000 files + a 5 GiB sparse file (bench/scale.mjs builds
// the tree and calls the compiled writer), ext4 and squashfs, each in its own process
// under /usr/bin/time: peak RSS must stay under 350 MiB, and the image must check clean
// (e2fsck -fn; unsquashfs -lln listing every entry).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const MiB = 2 ** 20;
const ENTRIES = 200 + 200000 + 1; // folders, files, the sparse file (root not counted)
const RSS_LIMIT_KB = 350 * 1024;

/** 64 MiB, deterministic: half xorshift noise (incompressible), half text. */
export function dataFile(path) {
  const buf = Buffer.alloc(64 * MiB);
  let x = 2463534242;
  for (let i = 0; i < buf.length / 2; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  const text = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n');
  for (let i = buf.length / 2; i < buf.length; i += text.length) text.copy(buf, i);
  writeFileSync(path, buf);
}

/** The image checked by the real tool: e2fsck -fn (clean, every entry an inode in use) or
 *  unsquashfs -lln (clean, every entry listed); `entries` below the root. */
export function checkImage(type, out, entries) {
  if (type === 'ext4') {
    // e2fsck's summary "N/M files" counts every inode in use: the entries, the root, lost+found
    const c = spawnSync('e2fsck', ['-fn', out], { encoding: 'utf8' });
    const used = Number(/(\d+)\/\d+ files/.exec(c.stdout)?.[1] ?? 0);
    return c.status === 0 && used >= entries
      ? `e2fsck -fn clean, ${used} inodes in use`
      : `e2fsck -fn exit ${c.status}, ${used} inodes in use for ${entries} entries: ${c.stdout
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('Pass '))
          .slice(0, 4)
          .join(' / ')}`;
  }
  const c = spawnSync('unsquashfs', ['-lln', out], { encoding: 'utf8', maxBuffer: 1 << 30 });
  let listed = 0;
  for (const l of c.stdout.split('\n')) if (l.includes('squashfs-root/')) listed++;
  return c.status === 0 && listed === entries
    ? `unsquashfs -lln clean, ${listed} entries`
    : `unsquashfs -lln exit ${c.status}, ${listed} of ${entries} entries${c.stderr.trim() ? `: ${c.stderr.trim().split('\n')[0]}` : ''}`;
}

export async function runScale({ json, log, machine, describeMachine, timed, setWork }) {
  const work = mkdtempSync(join(tmpdir(), 'fledge-pure-bench-scale-'));
  setWork(work);
  const results = [];
  try {
    const data = join(work, 'data.bin');
    dataFile(data);
    for (const type of ['ext4', 'squashfs']) {
      const out = join(work, type === 'ext4' ? 'scale.img' : 'scale.squashfs');
      const r = { case: `scale ${type}`, tool: 'fledge-pure', available: true };
      results.push(r);
      log(`scale: ${type}: writing 200 000 files + 5 GiB sparse`);
      try {
        const t = timed(['node', join(HERE, 'scale.mjs'), type, out, data]);
        const st = statSync(out);
        Object.assign(r, {
          wall: t.wall,
          rssKB: t.rssKB,
          bytes: st.size,
          allocatedBytes: st.blocks * 512,
          rssUnderLimit: t.rssKB < RSS_LIMIT_KB,
        });
      } catch (e) {
        Object.assign(r, { available: false, reason: e.message.replace(/^.*?fledge-pure: /, '') });
        log(`scale: ${type}: not available: ${r.reason}`);
        continue;
      }
      log(`scale: ${type}: checking`);
      r.check = checkImage(type, out, ENTRIES);
      rmSync(out, { force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (json) {
    process.stdout.write(JSON.stringify({ machine, scale: results }, null, 2) + '\n');
    return;
  }
  const lines = results.map((r) =>
    r.available
      ? `| ${r.case} | ${r.wall.toFixed(1)} | ${(r.rssKB / 1024).toFixed(0)} ` +
        `(${r.rssUnderLimit ? 'under' : 'OVER'} 350 MiB) | ${(r.bytes / MiB).toFixed(0)} (${(r.allocatedBytes / MiB).toFixed(0)} allocated) | ${r.check} |`
      : `| ${r.case} | not available: ${r.reason} | | | |`,
  );
  process.stdout.write(
    `${describeMachine(machine)}\ninput: 200 folders × 1000 files (0–2 KiB, ~200 MiB) + a 5 GiB sparse ` +
      `file (3 islands)\n\n| case | wall s | peak RSS MiB | image MiB | check |\n|---|---|---|---|---|\n${lines.join('\n')}\n`,
  );
}
