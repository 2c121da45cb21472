// `fledge-pure export` writes what GNU tar extracts (as root) to exactly what umoci
// unpacks from the same image, xattrs and times included; `inspect` lists the same tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';
import { type Entry, snapshotDir } from './helpers/snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-export-'));
const layout = join(scratch, 'layout');
let umoci: Entry[];

beforeAll(() => {
  // the same image twice: zstd layers for us, gzip for umoci 0.4 (which has no zstd)
  const layers = hardLayers();
  writeHardLayout(layout, layers, 'zstd');
  writeHardLayout(join(scratch, 'gzip'), layers, 'gzip');
  execFileSync('umoci', ['unpack', '--image', `${join(scratch, 'gzip')}:hard`, join(scratch, 'bundle')], {
    stdio: 'pipe',
  });
  umoci = snapshotDir(join(scratch, 'bundle/rootfs'), { xattrs: true, mtimes: true });
});

describe('export', () => {
  it('extracts with GNU tar to what umoci unpacks', async () => {
    const r = await runCli(['export', `oci:${layout}:hard`, '-o', join(scratch, 'rootfs.tar'), '-q'], { cwd: scratch });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const out = join(scratch, 'x');
    mkdirSync(out);
    execFileSync('tar', [
      '--xattrs',
      '--xattrs-include=*',
      '--numeric-owner',
      '-xpf',
      join(scratch, 'rootfs.tar'),
      '-C',
      out,
    ]);
    expect(snapshotDir(out, { xattrs: true, mtimes: true })).toEqual(umoci);
  });

  it('keeps sparse files sparse in the tar (GNU sparse 1.0)', () => {
    const listing = execFileSync('tar', ['-tvf', join(scratch, 'rootfs.tar')]).toString();
    expect(listing).toMatch(/ 6291456 .* sparse\n/);
    const tarSize = readFileSync(join(scratch, 'rootfs.tar')).length;
    expect(tarSize).toBeLessThan(6 << 20); // the 6 MiB file is not stored expanded
  });

  it('gives the same bytes twice', async () => {
    await runCli(['export', `oci:${layout}:hard`, '-o', join(scratch, 'again.tar'), '-q'], { cwd: scratch });
    expect(readFileSync(join(scratch, 'again.tar')).equals(readFileSync(join(scratch, 'rootfs.tar')))).toBe(true);
  });

  it('inspect prints the config summary and the listing', async () => {
    const r = await runCli(['inspect', `oci:${layout}:hard`], { cwd: scratch });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^image: oci:.*:hard\nplatform: linux\/amd64\nEntrypoint: \["\/usr\/bin\/tool"\]\n\n/);
    expect(r.stdout).toContain('file    4755 1000:1000 2 ');
    expect(r.stdout).toMatch(/symlink 0777 0:0 0 -> usr\/bin \/bin\n/);
    expect(r.stdout).toMatch(/char    0644 0:0 0 4,0 \/dev\/tty0\n/);
    expect(r.stdout.split('\n').filter((l) => l.includes('/big/'))).toHaveLength(5000);
  });

  it('fails with one line and no file for a missing image', async () => {
    const r = await runCli(['export', `oci:${layout}:nope`, '-o', join(scratch, 'no.tar')], { cwd: scratch });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/fledge-pure: .*no image named "nope"/);
    expect(() => readFileSync(join(scratch, 'no.tar'))).toThrow();
  });
});
