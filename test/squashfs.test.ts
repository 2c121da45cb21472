// The squashfs writer, read back by the real tools: unsquashfs (squashfs-tools) and
// rdsquashfs (squashfs-tools-ng) list and extract the image; the extraction is listed
// like the kernel listing of the boot test and compared entry by entry with the tree.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { CompressedCache } from '../src/compressed-cache.js';
import { writeSquashfs, type SquashfsOptions } from '../src/squashfs/write.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, Tree, setXattr } from '../src/tree/tree.js';
import { flatten } from '../src/oci/image.js';
import { openImage } from '../src/oci/sources/open.js';
import { diffListings, type Entry, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-squashfs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

export async function squash(tree: Tree, o: Partial<SquashfsOptions> = {}): Promise<string> {
  const path = join(scratch, `img-${n++}.sqfs`);
  const f = new ArtifactFile(path);
  await writeSquashfs(tree, f, { level: 15, epoch: { sec: 1234, nsec: 0 }, workers: 2, ...o });
  f.commit();
  return path;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Extracts with unsquashfs (as root: owners, devices and xattrs kept) and lists the result. */
function unsquashListing(img: string): ReturnType<typeof parseListing> {
  const dir = join(scratch, `x-${n++}`);
  execFileSync('unsquashfs', ['-q', '-n', '-d', dir, '-f', img], { stdio: 'pipe' });
  const report = execFileSync('sh', ['-c', LIST_SCRIPT], { cwd: dir, encoding: 'latin1', maxBuffer: 1 << 28 });
  rmSync(dir, { recursive: true, force: true });
  return parseListing(report);
}

function rdsquashListing(img: string): ReturnType<typeof parseListing> {
  const dir = join(scratch, `r-${n++}`);
  execFileSync('rdsquashfs', ['-q', '-u', '/', '-p', dir, '-C', '-O', '-T', '-X', img], { stdio: 'pipe' });
  const report = execFileSync('sh', ['-c', LIST_SCRIPT], { cwd: dir, encoding: 'latin1', maxBuffer: 1 << 28 });
  rmSync(dir, { recursive: true, force: true });
  return parseListing(report);
}

/**
 * rdsquashfs 1.2 unpacks hard links as copies, leaves the target folder's time and sets
 * xattrs before chown (which drops security.capability): a listing without those.
 */
function loose(l: Map<string, Entry>): Map<string, Entry> {
  for (const [p, e] of l) {
    if (!e.mode.startsWith('4')) {
      e.nlink = 1;
      e.inode = p;
    }
    delete e.xattrs['security.capability'];
    if (p === '.') e.mtime = '';
  }
  return l;
}

describe('squashfs writer', () => {
  it('writes the hard-case tree so that unsquashfs and rdsquashfs extract it exactly', async () => {
    const tree = hardTree(scratch);
    setXattr(tree.get('etc/hostname')!, 'user.comment', Buffer.from('hello'));
    setXattr(
      tree.get('usr/bin/tool')!,
      'security.capability',
      Buffer.from('0100000200200000000000000000000000000000', 'hex'),
    );
    setXattr(tree.get('etc')!, 'trusted.bin', Buffer.from([0, 1, 2, 255]));
    setXattr(tree.get('lib/short')!, 'trusted.link', Buffer.from('x'));
    const img = await squash(tree);
    const expected = treeListing(tree);
    expect(diffListings(expected, unsquashListing(img))).toEqual([]);
    // the 5000-entry directory has a listing over 64 KiB: extended inode with an index
    // (the kernel's lookups use it; the boot test looks up every entry)
    expect(execFileSync('rdsquashfs', ['-s', '/big', img], { encoding: 'utf8' })).toMatch(
      /Inode type: extended directory/,
    );
    // read the xattrs of the hard-linked file from the image itself (see loose)
    expect(diffListings(loose(treeListing(tree)), loose(rdsquashListing(img)))).toEqual([]);
    for (const p of ['/usr/bin/tool', '/usr/sbin/tool-link', '/bin2/tool-third'])
      expect(execFileSync('rdsquashfs', ['-x', p, img], { encoding: 'utf8' })).toBe(
        'security.capability=0x0100000200200000000000000000000000000000\n',
      );
  });

  it('decodes at every zstd level 1–22; the options block is written exactly as mksquashfs writes it', async () => {
    const tree = smallTree();
    const expected = treeListing(tree);
    for (let level = 1; level <= 22; level++) {
      const img = await squash(tree, { level });
      expect(diffListings(expected, unsquashListing(img)), `level ${level}`).toEqual([]);
      const head = readFileSync(img).subarray(0, 102);
      // flag 0x0400 and a raw metadata block holding the u32 level, only when not 15
      expect(head.readUInt16LE(24) & 0x400, `level ${level}`).toBe(level === 15 ? 0 : 0x400);
      if (level !== 15) expect(head.subarray(96, 102)).toEqual(mksquashfsOptions(level));
    }
    // the most memory-hungry case: 1 MiB blocks at the highest level
    tree.set(
      'b/mixed',
      makeNode(
        'file',
        { mtime: T },
        { content: bytesContent(Buffer.concat([randomBytes(1 << 20), Buffer.from('mixed '.repeat(200000))])) },
      ),
    );
    const img = await squash(tree, { level: 22, blockSize: 1 << 20 });
    expect(diffListings(treeListing(tree), unsquashListing(img))).toEqual([]);
  });

  it('block sizes 4 KiB and 1 MiB: multi-block files, tails in fragments, dedup, zero blocks', async () => {
    const tree = smallTree();
    const big = Buffer.concat([randomBytes(3 << 20), Buffer.from('text '.repeat(300000))]);
    tree.set('data/big', makeNode('file', { mtime: T }, { content: bytesContent(big) }));
    tree.set('data/big-copy', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(big)) }));
    tree.set('data/zeros', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.alloc(5 << 20)) }));
    const expected = treeListing(tree);
    for (const blockSize of [4096, 1 << 20]) {
      const img = await squash(tree, { blockSize, level: 3 });
      expect(diffListings(expected, unsquashListing(img)), `block size ${blockSize}`).toEqual([]);
      const sb = readFileSync(img).subarray(0, 96);
      expect([sb.readUInt32LE(12), sb.readUInt16LE(22)]).toEqual([blockSize, Math.log2(blockSize)]);
      // the copy is stored once and the zeros not at all: the image is about one big file
      expect(statSync(img).size).toBeLessThan(big.length + (200 << 10));
      expect(statSync(img).size).toBeGreaterThan(3 << 20);
    }
    await expect(squash(tree, { blockSize: 3000 })).rejects.toThrow(
      /block size 3000: use a power of two from 4096 to 1048576/,
    );
  });

  it('writes an empty tree', async () => {
    const tree = new Tree({ mode: 0o700, uid: 5, gid: 6, mtime: T });
    const img = await squash(tree);
    expect(diffListings(treeListing(tree), unsquashListing(img))).toEqual([]);
    expect(execFileSync('rdsquashfs', ['-d', img], { encoding: 'utf8' })).toBe('');
    expect(statSync(img).size % 4096).toBe(0);
    // bytes_used: the end of the last table, before the padding
    const sb = readFileSync(img).subarray(0, 96);
    expect(Number(sb.readBigUInt64LE(40))).toBeLessThan(statSync(img).size);
    expect(Number(sb.readBigUInt64LE(40))).toBeGreaterThan(Number(sb.readBigUInt64LE(48)));
  });

  it('keeps a sparse file over 4 GiB (all holes) without storing or reading its zeros', async () => {
    const tree = smallTree();
    const size = 5 * 2 ** 30 + 100;
    tree.set('huge', makeNode('file', { mtime: T }, { content: { size, pieces: [] } }));
    const img = await squash(tree);
    expect(statSync(img).size).toBeLessThan(1 << 20);
    const stat = execFileSync('rdsquashfs', ['-s', '/huge', img], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(stat).toMatch(/Inode type: extended file/);
    expect(stat).toContain(`File size: ${size}`);
    expect(stat).toContain(`Sparse: ${5 * 2 ** 30}`);
    const dir = join(scratch, `huge-${n++}`);
    execFileSync('unsquashfs', ['-q', '-n', '-d', dir, img, '/huge']);
    expect(statSync(join(dir, 'huge')).size).toBe(size);
    // unsquashfs saw sparse blocks and the zero fragment tail: it wrote holes
    expect(statSync(join(dir, 'huge')).blocks * 512).toBeLessThan(1 << 20);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same bytes with 0, 1 and 4 workers and for the same tree twice', async () => {
    const tree = hardTree(scratch, { bigDir: 300 });
    const big = Buffer.concat([randomBytes(1 << 20), Buffer.from('abc'.repeat(400000))]);
    tree.set('data/big', makeNode('file', { mtime: T }, { content: bytesContent(big) }));
    const digests = new Set<string>();
    for (const workers of [0, 1, 4, 4]) digests.add(sha(await squash(tree, { workers })));
    expect(digests.size).toBe(1);
  });

  it('keeps the bytes of a file-backed lz4 and zstd image (holes, zero blocks, duplicates, tails) for 0 and 2 workers and with a cache', async () => {
    // digests recorded before the compression workers read file data themselves (the
    // bytes must not depend on which thread reads a block, nor on the cache)
    const tree = fileBackedTree();
    const root = join(scratch, `cc-${n++}`);
    const cases: [Partial<SquashfsOptions>, string][] = [
      [{ compressor: 'lz4', level: 1 }, KNOWN_LZ4],
      [{ compressor: 'lz4', level: 1, blockSize: 4096 }, KNOWN_LZ4_4K],
      [{ compressor: 'zstd', level: 3 }, KNOWN_ZSTD],
    ];
    for (const [o, known] of cases) {
      for (const workers of [0, 2])
        expect(sha(await squash(tree, { ...o, workers })), `${o.compressor} ${workers}`).toBe(known);
      for (let i = 0; i < 2; i++)
        expect(sha(await squash(tree, { ...o, cache: new CompressedCache(root) }))).toBe(known);
    }
  });

  it('dedups a size two files share by comparing them, and three or more by hash and compare (holes and memory too)', async () => {
    const data = join(scratch, `pairs-${n++}`);
    const bytes = randomBytes(1 << 20);
    writeFileSync(data, bytes);
    const tree = new Tree({ mtime: T });
    const file = (path: string, size: number, pieces: { at: number; length: number; from: number }[]) =>
      tree.set(
        path,
        makeNode('file', { mtime: T }, { content: { size, pieces: pieces.map((p) => ({ ...p, file: data })) } }),
      );
    const memory = (path: string, size: number, at: number, length: number) =>
      tree.set(
        path,
        makeNode(
          'file',
          { mtime: T },
          { content: { size, pieces: [{ at: 0, length, bytes: bytes.subarray(at, at + length) }] } },
        ),
      );
    // pairs (a size two files share): equal, different, different in the last byte only
    // (past the first MiB compared), same bytes but one with a hole
    file('a/big', 300_000, [{ at: 0, length: 300_000, from: 0 }]);
    file('a/big-copy', 300_000, [{ at: 0, length: 300_000, from: 0 }]);
    file('b/small', 5000, [{ at: 0, length: 5000, from: 400_000 }]);
    file('b/small-other', 5000, [{ at: 0, length: 5000, from: 400_001 }]);
    const other = bytes.findIndex((v) => v !== bytes[1_000_009]);
    file('c/long', 1_100_000, [
      { at: 0, length: 1_000_000, from: 0 },
      { at: 1_000_000, length: 100_000, from: 10_000 },
    ]);
    file('c/long-last-byte', 1_100_000, [
      { at: 0, length: 1_000_000, from: 0 },
      { at: 1_000_000, length: 99_999, from: 10_000 },
      { at: 1_099_999, length: 1, from: other },
    ]);
    file('d/holey', 7000, [{ at: 3000, length: 4000, from: 600_000 }]);
    tree.set(
      'd/zeros',
      makeNode(
        'file',
        { mtime: T },
        { content: bytesContent(Buffer.concat([Buffer.alloc(3000), bytes.subarray(600_000, 604_000)])) },
      ),
    );
    // five files of one size (hashed): from the data file and from memory, with and without a hole
    file('e/one', 6000, [{ at: 0, length: 6000, from: 700_000 }]);
    file('e/two', 6000, [{ at: 0, length: 6000, from: 700_000 }]);
    file('e/three', 6000, [{ at: 0, length: 3000, from: 700_000 }]);
    memory('e/four', 6000, 700_000, 6000);
    memory('e/five', 6000, 700_000, 3000);
    const img = await squash(tree, { compressor: 'lz4', level: 1 });
    expect(diffListings(treeListing(tree), unsquashListing(img))).toEqual([]);
    const where = (path: string) => {
      const stat = execFileSync('rdsquashfs', ['-s', path, img], { encoding: 'utf8' });
      return ['Fragment index', 'Fragment offset', 'Blocks start'].map(
        (k) => new RegExp(`${k}: (\\S+)`).exec(stat)?.[1],
      );
    };
    const same = (a: string, b: string, yes: boolean) =>
      yes ? expect(where(b), `${a} ${b}`).toEqual(where(a)) : expect(where(b), `${a} ${b}`).not.toEqual(where(a));
    same('/a/big', '/a/big-copy', true);
    same('/b/small', '/b/small-other', false);
    same('/c/long', '/c/long-last-byte', false);
    same('/d/holey', '/d/zeros', false);
    same('/e/one', '/e/two', true);
    same('/e/one', '/e/four', true);
    same('/e/one', '/e/three', false);
    same('/e/three', '/e/five', true);
  });

  it('fails with the reading error, blocks still in flight, and nothing left running', async () => {
    const tree = smallTree();
    tree.set('c/first', makeNode('file', { mtime: T }, { content: bytesContent(randomBytes(2 << 20)) }));
    tree.set(
      'c/gone',
      makeNode('file', { mtime: T }, { content: fileContent(join(scratch, 'no-such-file'), 1 << 20) }),
    );
    await expect(squash(tree, { workers: 2 })).rejects.toThrow(/ENOENT.*no-such-file/);
  });

  it('names the source file that ends early when a compression worker reads it', async () => {
    const short = join(scratch, `short-${n++}`);
    writeFileSync(short, Buffer.alloc(1000, 1));
    const tree = smallTree();
    tree.set('c/short', makeNode('file', { mtime: T }, { content: fileContent(short, 300_000) }));
    for (const workers of [0, 2])
      await expect(squash(tree, { workers })).rejects.toThrow(
        `${short}: ends before byte 300000 (file changed while building?)`,
      );
  });

  it('writes the flattened hard-case OCI image as unsquashfs reads it back', async () => {
    const dir = join(scratch, `oci-${n++}`);
    writeHardLayout(join(dir, 'layout'), hardLayers(), 'gzip', 'hard');
    const tree = await flatten(await openImage('oci:layout:hard', { cwd: dir, log: () => {} }), () => {}, T);
    const img = await squash(tree);
    expect(diffListings(treeListing(tree), unsquashListing(img))).toEqual([]);
  });
});

const T = { sec: 1700000000, nsec: 0 };

/** Files of several block counts, a symlink, a device, an xattr, a hard link. */
const KNOWN_LZ4 = 'aabc92eb16ba583f21ebd8ad82b25000fff6f899438f10bde3ec6fda5ecf34f1';
const KNOWN_LZ4_4K = '1aa26a87677c2e6b592e182623bef16eaf3dea21f2bc5d442772c3923519ea82';
const KNOWN_ZSTD = '44a416633a34bd731f610351d2538f0c1bab01573f09cac36ea6ed3845ae7641';

/** A tree whose files are pieces of one data file (as a layer tar's are), with holes, zero blocks, duplicates and tails. */
function fileBackedTree(): Tree {
  const data = join(scratch, `data-${n++}`);
  const bytes = Buffer.alloc(3 << 20);
  // a fixed pseudo-random mix of runs (compressible) and noise (stored raw)
  let x = 12345;
  for (let i = 0; i < bytes.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = (i >> 12) % 3 === 0 ? x >>> 24 : (i >> 7) & 0xff;
  }
  bytes.fill(0, 1 << 20, (1 << 20) + (256 << 10)); // zero blocks
  writeFileSync(data, bytes);
  const piece = (at: number, length: number, from: number) => ({ at, length, file: data, from });
  const tree = new Tree({ mtime: T });
  const file = (path: string, size: number, pieces: ReturnType<typeof piece>[]) =>
    tree.set(path, makeNode('file', { mtime: T }, { content: { size, pieces } }));
  file('big', 1 << 21, [piece(0, 1 << 21, 0)]);
  file('zeros', 400_000, [piece(0, 400_000, 1 << 20)]);
  file('holey', 1_000_000, [piece(0, 5000, 77), piece(300_000, 200_000, 9999), piece(900_000, 100_000, 5)]);
  file('dup1', 200_000, [piece(0, 200_000, 1000)]);
  file('dup2', 200_000, [piece(0, 100_000, 1000), piece(100_000, 100_000, 101_000)]);
  file('notdup', 200_000, [piece(0, 200_000, 1001)]);
  file('empty', 0, []);
  tree.set('mem', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from('in memory '.repeat(20000))) }));
  for (let i = 0; i < 300; i++) file(`small/${i}`, 1 + ((i * 977) % 6000), [piece(0, 1 + ((i * 977) % 6000), i * 313)]);
  for (let i = 0; i < 20; i++) file(`same/${i}`, 4096, [piece(0, 4096, (i % 3) * 4096)]);
  return tree;
}

function smallTree(): Tree {
  const tree = new Tree({ mtime: T });
  const text = Buffer.from('squashfs '.repeat(40000));
  tree.set('a/text', makeNode('file', { mtime: T }, { content: bytesContent(text) }));
  tree.set('a/small', makeNode('file', { mtime: T, uid: 70000 }, { content: bytesContent(Buffer.from('small')) }));
  tree.set('a/link', tree.get('a/small')!);
  tree.set('b/random', makeNode('file', { mtime: T }, { content: bytesContent(randomBytes(150000)) }));
  tree.set('b/sym', makeNode('symlink', { mode: 0o777, mtime: T }, { target: Buffer.from('../a/text') }));
  tree.set('dev/null', makeNode('char', { mode: 0o666, mtime: T }, { rdev: { major: 1, minor: 3 } }));
  setXattr(tree.get('a/text')!, 'user.x', Buffer.from([0, 255]));
  return tree;
}

/** The compressor options block mksquashfs writes for a level (from byte 96 of its image); lz4 has no level. */
function mksquashfsOptions(level: number | undefined, comp = 'zstd'): Buffer {
  const src = join(scratch, `mk-src-${n}`);
  mkdirSync(src, { recursive: true });
  const img = join(scratch, `mk-${n++}.sqfs`);
  const levelArgs = level === undefined ? [] : ['-Xcompression-level', String(level)];
  execFileSync('mksquashfs', [src, img, '-comp', comp, ...levelArgs, '-noappend', '-quiet', '-no-progress']);
  return readFileSync(img).subarray(96, comp === 'zstd' ? 102 : 106);
}

describe('squashfs gzip', () => {
  it('decodes at gzip levels 1, 6 and 9; compressor id 1 and the options block as mksquashfs writes them', async () => {
    const tree = smallTree();
    const expected = treeListing(tree);
    for (const level of [1, 6, 9]) {
      const img = await squash(tree, { compressor: 'gzip', level });
      expect(diffListings(expected, unsquashListing(img)), `level ${level}`).toEqual([]);
      const head = readFileSync(img).subarray(0, 106);
      expect(head.readUInt16LE(20)).toBe(1);
      expect(head.readUInt16LE(24) & 0x400, `level ${level}`).toBe(level === 9 ? 0 : 0x400);
      if (level !== 9) expect(head.subarray(96, 106)).toEqual(mksquashfsOptions(level, 'gzip'));
    }
    await expect(squash(tree, { compressor: 'gzip', level: 10 })).rejects.toThrow(
      'squashfs: gzip level 10: use 1 to 9',
    );
  });
});

describe('squashfs lz4', () => {
  it('unsquashfs and rdsquashfs extract it exactly; id 5 and the options block mksquashfs writes; same bytes for 1 and 2 workers', async () => {
    const tree = hardTree(scratch);
    setXattr(tree.get('etc/hostname')!, 'user.comment', Buffer.from('hello'));
    for (const [name, t] of [
      ['small', smallTree()],
      ['hard', tree],
    ] as const) {
      const img = await squash(t, { compressor: 'lz4', level: 1, blockSize: 4096 });
      const expected = treeListing(t);
      expect(diffListings(expected, unsquashListing(img)), name).toEqual([]);
      expect(diffListings(loose(treeListing(t)), loose(rdsquashListing(img))), name).toEqual([]);
      const head = readFileSync(img).subarray(0, 106);
      expect(head.readUInt16LE(20)).toBe(5);
      expect(head.readUInt16LE(24) & 0x400).toBe(0x400);
      expect(head.subarray(96, 106)).toEqual(mksquashfsOptions(undefined, 'lz4'));
      expect(sha(await squash(t, { compressor: 'lz4', level: 1, blockSize: 4096, workers: 1 }))).toBe(sha(img));
    }
    await expect(squash(tree, { compressor: 'lz4', level: 9 })).rejects.toThrow(
      'squashfs: lz4 level 9: lz4 has no levels (use 1)',
    );
  });
});

describe('squashfs xattr namespaces', () => {
  it('leaves out system.* xattrs (POSIX ACLs), keeps the rest, and counts the entries', async () => {
    const tree = new Tree({ mtime: T });
    const acl = Buffer.from('02000000010007000000000004000500000000002000040000000000', 'hex');
    const both = tree.set('both', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from('b')) }));
    setXattr(both, 'system.posix_acl_access', acl);
    setXattr(both, 'user.keep', Buffer.from('kept'));
    setXattr(tree.mkdirp('only-acl', { mtime: T }), 'system.posix_acl_default', acl);
    const path = join(scratch, `img-${n++}.sqfs`);
    const f = new ArtifactFile(path);
    const r = await writeSquashfs(tree, f, { level: 15, epoch: T, workers: 1 });
    f.commit();
    expect(r.droppedXattrs).toBe(2);
    const listing = unsquashListing(path);
    expect(listing.get('./both')!.xattrs).toEqual({ 'user.keep': Buffer.from('kept').toString('hex') });
    expect(listing.get('./only-acl')!.xattrs).toEqual({});
  });
});
