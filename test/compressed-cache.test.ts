// The compressed-output cache (src/compressed-cache.ts): a warm build gives exactly the
// bytes of a cold one (squashfs zstd, gzip and lz4; a cpio.gz's deflate chunks; qcow2
// clusters) and compresses only what changed (the cache's own counts); a corrupt entry is
// found, ignored and rewritten; the size bound evicts. The images are read back by
// unsquashfs, gzip (Node's zlib) and qemu-img.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { cachePaths } from '../src/cache.js';
import { gzipStream } from '../src/compress.js';
import { CompressedCache } from '../src/compressed-cache.js';
import { writeQcow2 } from '../src/qcow2/write.js';
import { type SquashfsOptions, writeSquashfs } from '../src/squashfs/write.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-ccache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const T = { sec: 1700000000, nsec: 0 };
let n = 0;

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Bytes no compressor shrinks, the same on every run (a sha256 chain). */
function noise(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  let h = Buffer.from(seed);
  for (let o = 0; o < length; o += 32) {
    h = createHash('sha256').update(h).digest();
    h.copy(out, o);
  }
  return out;
}

/** Compressible text of `length` bytes. */
function text(length: number, seed: string): Buffer {
  const line = (i: number) => `${seed} line ${i} ${'abcdefgh'.repeat(i % 7)}\n`;
  const parts: string[] = [];
  for (let i = 0, len = 0; len < length; i++) len += (parts[parts.length] = line(i)).length;
  return Buffer.from(parts.join('')).subarray(0, length);
}

/** Files of several blocks, tails packed into fragments, noise stored raw; `changed` alters one small file. */
function tree(changed = false): Tree {
  const t = new Tree();
  const file = (path: string, bytes: Buffer) =>
    t.set(path, makeNode('file', { mtime: T }, { content: bytesContent(bytes) }));
  for (let i = 0; i < 6; i++) file(`usr/lib/text${i}`, text(300_000 + i * 7_000, `t${i}`));
  file('usr/lib/noise', noise(200_000, 'noise'));
  for (let i = 0; i < 20; i++) file(`etc/small${i}`, text(1_000 + i * 100, `s${i}`));
  file('etc/changed', text(2_000, changed ? 'after' : 'before'));
  return t;
}

async function squash(t: Tree, o: Partial<SquashfsOptions>): Promise<Buffer> {
  const path = join(scratch, `img-${n++}.sqfs`);
  const f = new ArtifactFile(path);
  await writeSquashfs(t, f, { level: 15, epoch: T, workers: 2, ...o });
  f.commit();
  execFileSync('unsquashfs', ['-lln', path], { stdio: 'pipe' }); // read back whole, or throws
  return readFileSync(path);
}

/** Every entry file of a cache folder. */
function entries(root: string): string[] {
  const dir = cachePaths.compressed(root);
  return readdirSync(dir).flatMap((sub) => readdirSync(join(dir, sub)).map((name) => join(dir, sub, name)));
}

describe('compressed cache: squashfs', () => {
  for (const [compressor, level] of [
    ['zstd', 15],
    ['gzip', 9],
    ['lz4', 1],
  ] as const) {
    it(`${compressor}: warm builds give the cold bytes and compress only the changed blocks`, async () => {
      const root = mkdtempSync(join(scratch, 'cache-'));
      const o = { compressor, level };
      const cold = await squash(tree(), o);
      const first = new CompressedCache(root);
      expect(sha(await squash(tree(), { ...o, cache: first }))).toBe(sha(cold));
      expect(first.hits).toBe(0);
      const blocks = first.misses;
      expect(blocks).toBeGreaterThan(10);

      const again = new CompressedCache(root);
      expect(sha(await squash(tree(), { ...o, cache: again, workers: 0 }))).toBe(sha(cold));
      expect([again.hits, again.misses]).toEqual([blocks, 0]);

      const changedCold = await squash(tree(true), o);
      expect(sha(changedCold)).not.toBe(sha(cold));
      const warm = new CompressedCache(root);
      expect(sha(await squash(tree(true), { ...o, cache: warm }))).toBe(sha(changedCold));
      // the changed file's tail sits in one fragment block: that block is compressed again,
      // and the metadata blocks that say where the blocks after it went
      expect(warm.misses).toBeGreaterThanOrEqual(1);
      expect(warm.misses).toBeLessThanOrEqual(4);
    });
  }

  it('finds a corrupt entry, ignores it, rewrites it, and the bytes do not change', async () => {
    const root = mkdtempSync(join(scratch, 'cache-'));
    const cold = await squash(tree(), {});
    const fill = new CompressedCache(root);
    await squash(tree(), { cache: fill });
    const files = entries(root).sort();
    expect(files.length).toBe(fill.misses);
    const victim = files[3]!;
    const bytes = readFileSync(victim);
    bytes[bytes.length - 1] ^= 0x55;
    writeFileSync(victim, bytes);
    const warm = new CompressedCache(root);
    expect(sha(await squash(tree(), { cache: warm }))).toBe(sha(cold));
    expect([warm.corrupt, warm.misses]).toEqual([1, 1]);
    const after = new CompressedCache(root);
    await squash(tree(), { cache: after });
    expect([after.corrupt, after.misses]).toEqual([0, 0]);
  });

  it('keeps the folder under its bound, dropping the least recently used entries first', async () => {
    const root = mkdtempSync(join(scratch, 'cache-'));
    await squash(tree(), { cache: new CompressedCache(root) });
    const all = entries(root);
    for (const f of all) utimesSync(f, 1000, 1000);
    // the changed build uses every entry but the old fragment block holding etc/changed
    // (and metadata blocks that changed with it)
    const changed = new CompressedCache(root);
    await squash(tree(true), { cache: changed });
    const stale = all.filter((f) => statSync(f).mtimeMs === 1_000_000);
    expect(stale.length).toBe(changed.misses);
    const now = entries(root);
    expect(now.length).toBe(all.length + changed.misses);
    const total = now.reduce((s, f) => s + statSync(f).size, 0);
    new CompressedCache(root, total - 1).trim();
    const removed = now.filter((f) => !entries(root).includes(f));
    expect(removed.length).toBe(1);
    expect(stale).toContain(removed[0]);
    const bound = Math.floor(total / 2);
    new CompressedCache(root, bound).trim();
    const left = entries(root);
    expect(left.reduce((s, f) => s + statSync(f).size, 0)).toBeLessThanOrEqual(bound);
    expect(left.length).toBeGreaterThan(0);
    new CompressedCache(root, 0).trim();
    expect(entries(root)).toEqual([]);
  });
});

describe('compressed cache: deflate chunks and qcow2 clusters', () => {
  function gzip(chunks: Uint8Array[], cache?: CompressedCache): Buffer {
    const parts: Buffer[] = [];
    const s = gzipStream(6, (c) => parts.push(Buffer.from(c)), { workers: 2, inlineFirst: 0, cache });
    for (const c of chunks) s.write(c);
    s.end();
    return Buffer.concat(parts);
  }

  it('gzip: warm gives the cold bytes; a chunk whose dictionary changed is compressed again', () => {
    const root = mkdtempSync(join(scratch, 'cache-'));
    const input = [text(900_000, 'cpio'), noise(100_000, 'n')];
    const cold = gzip(input);
    expect(gunzipSync(cold).equals(Buffer.concat(input))).toBe(true);
    const first = new CompressedCache(root);
    expect(sha(gzip(input, first))).toBe(sha(cold));
    const chunks = first.misses;
    expect(chunks).toBe(Math.ceil(1_000_000 / (128 * 1024)));
    const again = new CompressedCache(root);
    expect(sha(gzip(input, again))).toBe(sha(cold));
    expect([again.hits, again.misses]).toEqual([chunks, 0]);
    // a change in the last bytes of chunk 0: chunk 0 changes, and chunk 1, whose bytes are
    // the same, has another dictionary (the 32 KiB before it)
    const changed = [Buffer.from(input[0]!), input[1]!];
    changed[0]![128 * 1024 - 10] ^= 1;
    const warm = new CompressedCache(root);
    const out = gzip(changed, warm);
    expect(sha(out)).toBe(sha(gzip(changed)));
    expect(gunzipSync(out).equals(Buffer.concat(changed))).toBe(true);
    expect(warm.misses).toBe(2);
  });

  it('qcow2: warm gives the cold bytes, qemu-img check finds it clean', async () => {
    const root = mkdtempSync(join(scratch, 'cache-'));
    const raw = join(scratch, 'raw.img');
    writeFileSync(raw, Buffer.concat([text(3 << 20, 'disk'), Buffer.alloc(1 << 20), noise(1 << 20, 'd')]));
    const convert = async (cache?: CompressedCache) => {
      const path = join(scratch, `q-${n++}.qcow2`);
      const f = new ArtifactFile(path, { positional: true });
      await writeQcow2(raw, f, { workers: 2, cache });
      f.commit();
      return path;
    };
    const cold = readFileSync(await convert());
    const first = new CompressedCache(root);
    expect(sha(readFileSync(await convert(first)))).toBe(sha(cold));
    const again = new CompressedCache(root);
    const warm = await convert(again);
    expect(sha(readFileSync(warm))).toBe(sha(cold));
    expect([again.hits, again.misses]).toEqual([first.misses, 0]);
    expect(again.hits).toBeGreaterThan(0);
    execFileSync('qemu-img', ['check', warm], { stdio: 'pipe' });
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', raw, warm], { stdio: 'pipe' });
  });
});
