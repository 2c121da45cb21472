// Sparse files cost their data, not their size: a 1 TiB file with 5 bytes of data goes
// into squashfs as sparse blocks in seconds and little memory (read back by unsquashfs
// and rdsquashfs), and `inspect` lists it without hashing a terabyte of zeros. Names
// in the listing are quoted as GNU tar quotes them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileDigest } from '../src/export/commands.js';
import { writeSquashfs } from '../src/squashfs/write.js';
import { fileContent, layoutDigest, readContent, type Content } from '../src/tree/content.js';
import { quoteName } from '../src/tree/quote.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-sparse-'));
const T = { sec: 1700000000, nsec: 0 };
const TiB = 2 ** 40;

/** A file of `size` bytes with `data` at `at`, the rest holes (a real sparse file on disk, and its content). */
function sparse(name: string, size: number, at: number, data: string): { path: string; content: Content } {
  const path = join(scratch, name);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  writeSync(fd, Buffer.from(data), 0, data.length, at);
  closeSync(fd);
  const bytes = join(scratch, `${name}.data`);
  writeFileSync(bytes, data);
  return { path, content: { size, pieces: [{ ...fileContent(bytes, data.length).pieces[0]!, at }] } };
}

describe('a 1 TiB sparse file', () => {
  it('squashfs: sparse blocks without reading the holes, in seconds and bounded memory', async () => {
    const { content } = sparse('big', TiB, TiB / 2 + 100, 'hello');
    const tree = new Tree({ mtime: T });
    tree.set('big', makeNode('file', { mtime: T }, { content }));
    const img = join(scratch, 'big.squashfs');
    const fd = openSync(img, 'w');
    const rss = process.memoryUsage().rss;
    const start = Date.now();
    await writeSquashfs(
      tree,
      { writeAt: (c, p) => writeSync(fd, c, 0, c.length, p), setSize: (n) => ftruncateSync(fd, n) },
      { compressor: 'gzip', level: 1, epoch: T, workers: 0 },
    );
    closeSync(fd);
    expect(Date.now() - start).toBeLessThan(30_000); // was past 60 s
    expect(process.memoryUsage().rss - rss).toBeLessThan(400 << 20); // was 750 MB; the block list alone is 32 MiB
    // rdsquashfs -s prints the 8 Mi block sizes after the header: keep the head
    expect(execFileSync('sh', ['-c', 'rdsquashfs -s /big "$1" | head -20', 'sh', img], { encoding: 'utf8' })).toMatch(
      /^File size: 1099511627776$/m,
    );
    expect(execFileSync('unsquashfs', ['-lln', '-n', img], { encoding: 'utf8' })).toMatch(
      / 1099511627776 .* squashfs-root\/big$/m,
    );
  }, 60_000);

  it('a smaller sparse file comes back byte-exact from unsquashfs', async () => {
    const { path, content } = sparse('mid', 64 << 20, (40 << 20) + 7, 'in the middle');
    const tree = new Tree({ mtime: T });
    tree.set('mid', makeNode('file', { mtime: T }, { content }));
    const img = join(scratch, 'mid.squashfs');
    const fd = openSync(img, 'w');
    await writeSquashfs(
      tree,
      { writeAt: (c, p) => writeSync(fd, c, 0, c.length, p), setSize: (n) => ftruncateSync(fd, n) },
      { compressor: 'gzip', level: 1, epoch: T, workers: 0 },
    );
    closeSync(fd);
    const out = join(scratch, 'mid-out');
    execFileSync('unsquashfs', ['-n', '-d', out, img]);
    expect(readFileSync(join(out, 'mid')).equals(readFileSync(path))).toBe(true);
  });

  it('inspect: lists it in seconds as "sparse:" + its layout digest; small holes still give the plain sha256', () => {
    const { content } = sparse('big2', TiB, 12345, 'data');
    const start = Date.now();
    expect(fileDigest(content)).toBe(`sparse:${layoutDigest(content)}`);
    expect(Date.now() - start).toBeLessThan(1000);
    const small = sparse('small', 1 << 20, 100, 'x').content;
    expect(fileDigest(small)).toBe(
      createHash('sha256')
        .update(Buffer.concat([...readContent(small)]))
        .digest('hex'),
    );
  });
});

describe('inspect through the CLI', () => {
  it('quotes control bytes in names and targets, and lists a 1 TiB sparse layer file at once', async () => {
    const src = join(scratch, 'layer');
    mkdirSync(src);
    const fd = openSync(join(src, 'huge'), 'w');
    ftruncateSync(fd, TiB);
    writeSync(fd, Buffer.from('end'), 0, 3, TiB - 3);
    closeSync(fd);
    writeFileSync(join(src, 'evil\n\x1b[2Jname'), 'x');
    execFileSync('ln', ['-s', 'target\twith\x07bell', join(src, 'link')]);
    const tar = execFileSync('tar', ['--format=pax', '--sparse', '--sort=name', '-cf', '-', '.'], { cwd: src });
    const dir = join(scratch, 'layout');
    writeHardLayout(dir, [tar], 'none');
    const start = Date.now();
    const r = await runCli(['inspect', `oci:${dir}:hard`], { cwd: scratch });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - start).toBeLessThan(60_000);
    expect(r.stdout).toContain(' /evil\\n\\033[2Jname\n');
    expect(r.stdout).toContain(' -> target\\twith\\abell /link\n');
    expect(r.stdout).toMatch(/^file {4}0644 0:0 1099511627776 sparse:[0-9a-f]{64} \/huge$/m);
    expect(r.stdout).not.toContain('\x1b');
  }, 120_000);

  it('quoteName: printable UTF-8 kept, invalid bytes and C1 controls as octal, backslash doubled', () => {
    expect(quoteName(Buffer.from('café/ok'))).toBe('café/ok');
    expect(quoteName(Buffer.from([0x61, 0xff, 0x5c, 0x7f]))).toBe('a\\377\\\\\\177');
    expect(quoteName(Buffer.from('a\u0085b'))).toBe('a\\302\\205b');
  });
});
