// Known answers for ext4's small pieces, every one from a published vector or from
// e2fsprogs 1.47.0 (Debian 12), never from our own code. How each was made is beside it.
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cU32 } from '../../src/ext4/crc32c.js';
import { dirHash } from '../../src/ext4/dirhash.js';
import { extentTree, extentTreeBlocks, type Extent } from '../../src/ext4/extents.js';
import { Geometry, hasSuperBackup } from '../../src/ext4/geometry.js';
import { encodeInode } from '../../src/ext4/inode.js';

describe('crc32c', () => {
  // ext4 seeds and keeps the raw register; the standard CRC-32C is ~crc32c(~0, data).
  const standard = (data: Uint8Array) => ~crc32c(0xffffffff, data) >>> 0;

  it('gives the iSCSI test vectors (RFC 3720 appendix B.4) and the CRC-32C check value', () => {
    // RFC 3720 B.4 lists the CRC as sent, least significant byte first: "aa 36 91 8a" = 0x8a9136aa
    expect(standard(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(standard(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(standard(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(standard(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    // the check value of CRC-32C (Castagnoli) over "123456789" (the CRC catalogue, CRC-32/ISCSI)
    expect(standard(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('over a 32-bit number is over its four little-endian bytes (inode and group numbers)', () => {
    for (const n of [0, 1, 11, 0x12345678, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
      const le = Buffer.alloc(4);
      le.writeUInt32LE(n);
      for (const seed of [0, 0xffffffff, 0x1edc6f41])
        expect([n, seed, crc32cU32(seed, n)]).toEqual([n, seed, crc32c(seed, le)]);
    }
  });

  it('continues from a seed: two calls over the halves equal one over the whole', () => {
    const data = Buffer.from('the quick brown fox jumps over the lazy dog');
    expect(crc32c(crc32c(0xffffffff, data, 0, 10), data, 10)).toBe(crc32c(0xffffffff, data));
  });
});

describe('htree name hash (half-MD4, unsigned)', () => {
  // debugfs -R "dx_hash -h HASHALG_4 -s 6a2f0c3e-9b1d-4e57-a8c4-3f2e1d0c9b8a NAME"
  // (hash algorithm 4 = half_md4_unsigned, what s_flags 0x2 asks for and we write);
  // plain ASCII names hash the same with -h half_md4 (the signed flavour).
  const uuid = Buffer.from('6a2f0c3e9b1d4e57a8c43f2e1d0c9b8a', 'hex');
  const seed = Uint32Array.from([0, 4, 8, 12], (o) => uuid.readUInt32LE(o));
  const vectors: [string, number][] = [
    ['hello', 0x266dc26c],
    ['lost+found', 0x293cff1e],
    ['a', 0xd4d7558e],
    ['abcdefghijklmnopqrstuvwxyz0123456789', 0xc4447a1c], // two 32-byte chunks
    ['x'.repeat(100), 0x20eefc2e], // four chunks
    ['café', 0x0d422f3c], // a byte ≥ 0x80: the unsigned flavour (signed half_md4 gives 0xb4ea6ab6)
  ];

  it('matches debugfs dx_hash', () => {
    for (const [name, hash] of vectors) expect([name, dirHash(Buffer.from(name), seed)]).toEqual([name, hash]);
  });

  it('uses the MD4 initial values when the seed is all zero', () => {
    // debugfs -R "dx_hash -h half_md4 -s 00000000-0000-0000-0000-000000000000 hello"
    expect(dirHash(Buffer.from('hello'), new Uint32Array(4))).toBe(0x1746da32);
  });
});

describe('extent trees at their 4 / 340 boundaries', () => {
  // An extent node is a 12-byte header then 12-byte entries: 4 fit in i_block (60 bytes),
  // (4096 − 12) / 12 = 340 in a 4 KiB block (fs/ext4/ext4_extents.h,
  // ext4_ext_space_root / ext4_ext_space_block). mke2fs -d of a file with 4 and with 5
  // one-block extents (holes between), read back with debugfs "inode_dump -b" and "bd":
  //   4 extents: i_block header 0af3 0400 0400 0000 (4 entries, max 4, depth 0)
  //   5 extents: i_block header 0af3 0100 0400 0100 (1 entry, max 4, depth 1);
  //              its leaf block 0af3 0500 5401 0000 (5 entries, max 340, depth 0)
  const extents = (n: number): Extent[] =>
    Array.from({ length: n }, (_, i) => ({ logical: 2 * i, physical: 1000 + i, length: 1 }));
  const head = (b: Buffer, at = 0) => b.subarray(at, at + 8).toString('hex');

  it('keeps 4 extents in the inode', () => {
    expect(extentTreeBlocks(4)).toBe(0);
    expect(head(extentTree(extents(4), []).iblock)).toBe('0af3040004000000');
  });

  it('moves 5 extents to one leaf block, as mke2fs does', () => {
    expect(extentTreeBlocks(5)).toBe(1);
    const t = extentTree(extents(5), [5000]);
    expect(head(t.iblock)).toBe('0af3010004000100');
    expect(t.blocks.map((b) => [b.block, head(b.data)])).toEqual([[5000, '0af3050054010000']]);
  });

  it('fills depth 1 up to 4 × 340 extents, then needs depth 2', () => {
    // from the capacities above: 1360 = 4 full leaves under the inode; 1361 = 5 leaves,
    // more than the inode's 4 entries, so one index block above them
    expect([340, 341, 1360, 1361].map(extentTreeBlocks)).toEqual([1, 2, 4, 6]);
    const t = extentTree(extents(1361), [1, 2, 3, 4, 5, 6]);
    expect(head(t.iblock).slice(8)).toBe('04000200'); // max 4, depth 2
    expect(t.blocks.map((b) => b.data.readUInt16LE(6))).toContain(1); // the index block
  });
});

describe('group geometry around backup superblocks', () => {
  // mke2fs -t ext4 -b 4096 -O ^resize_inode -N INODES IMG BLOCKS, then dumpe2fs IMG:
  // "Group G: ... superblock at S, Group descriptors at A-B" and "Inodes per group".
  it('puts backups where mke2fs does (sparse_super: 0, 1, powers of 3, 5, 7)', () => {
    // 130 groups, -N 50000: superblock copies in these groups, descriptors in 3 blocks
    const backups = [0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125];
    expect(Array.from({ length: 130 }, (_, g) => g).filter(hasSuperBackup)).toEqual(backups);
    const g = new Geometry(130 * 32768, 50000);
    expect([g.groups, g.gdtBlocks, g.inodesPerGroup]).toEqual([130, 3, 400]);
    expect(g.reserved).toEqual(backups.slice(1).map((n) => ({ start: n * 32768, length: 4 })));
  });

  it('grows the descriptor table to a second block at 65 groups (64 bytes each)', () => {
    // 64 groups, -N 70000: "Group descriptors at 1-1", 1104 inodes per group;
    // 65 groups, -N 1000: "Group descriptors at 1-2" (and 32769-32770...), 16 per group
    const a = new Geometry(64 * 32768, 70000);
    const b = new Geometry(65 * 32768, 1000);
    expect([a.gdtBlocks, a.inodesPerGroup, a.reserved[0]]).toEqual([1, 1104, { start: 32768, length: 2 }]);
    expect([b.gdtBlocks, b.inodesPerGroup, b.reserved.at(-1)]).toEqual([2, 16, { start: 49 * 32768, length: 3 }]);
  });
});

describe('inode time encoding (1901 / 2038 / 2446)', () => {
  // debugfs -w -R "sif /a mtime @SECONDS" IMG, then debugfs -R "stat /a" IMG prints
  // " mtime: 0x<i_mtime>:<i_mtime_extra>": the low 32 bits, and the epoch in the extra
  // field's two low bits (kernel Documentation/filesystems/ext4/inodes.rst).
  const vectors: [number, number, number][] = [
    [-2147483648, 0x80000000, 0], // 1901-12-13 20:45:52, the oldest time
    [2147483647, 0x7fffffff, 0], // 2038-01-19 03:14:07
    [2147483648, 0x80000000, 1], // 2038-01-19 03:14:08: the first time past 32 bits
    [1700000000, 0x6553f100, 0],
    [15032385535, 0x7fffffff, 3], // 2446-05-10 22:38:55, the newest time
  ];
  const inode = (sec: number) =>
    encodeInode({
      mode: 0o100644,
      uid: 0,
      gid: 0,
      size: 0,
      links: 1,
      sectors: 0,
      flags: 0,
      time: { sec, nsec: 0 },
      iblock: new Uint8Array(60),
      xattrBlock: 0,
    });

  it('writes i_mtime and the epoch bits as debugfs reads them', () => {
    for (const [sec, low, extra] of vectors) {
      const b = inode(sec);
      // i_mtime at 0x10, i_mtime_extra at 0x88 (struct ext4_inode)
      expect([sec, b.readUInt32LE(0x10), b.readUInt32LE(0x88)]).toEqual([sec, low, extra]);
    }
  });
});
