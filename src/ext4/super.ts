// Superblock, group descriptors, bitmaps and the journal superblock.
// Superblock (1024 bytes at byte 1024, copies at the start of backup groups with
// s_block_group_nr set): offsets as in e2fsprogs lib/ext2fs/ext2_fs.h struct
// ext2_super_block; checksum crc32c(~0, bytes 0..0x3FB) at 0x3FC.
// Group descriptor (64 bytes with 64bit): bitmaps, inode table, free counts, flags,
// bitmap checksums (crc32c(fs seed, bitmap), lo/hi halves), checksum =
// crc32c(fs seed, le32 group, descriptor with checksum zeroed) & 0xFFFF (group_descr.rst).
// Bitmap bits past the group's end (last group) and past inodes_per_group are 1
// (e2fsck pass5 checks the padding).
// JBD2 superblock (big-endian, journal block 0): as mke2fs writes it
// (lib/ext2fs/mkjournal.c): v2, blocksize, maxlen, first = 1, sequence = 1, start = 0
// (clean: nothing to replay), nr_users = 1, uuid = the filesystem's.
import { crc32c, crc32cU32 } from './crc32c.js';
import { BLOCK, DESC_SIZE, type Geometry } from './geometry.js';

export const FEATURES = {
  // has_journal, ext_attr, dir_index
  compat: 0x0004 | 0x0008 | 0x0020,
  // filetype, extents, 64bit, flex_bg
  incompat: 0x0002 | 0x0040 | 0x0080 | 0x0200,
  // sparse_super, large_file, huge_file, dir_nlink, extra_isize, metadata_csum
  roCompat: 0x0001 | 0x0002 | 0x0008 | 0x0020 | 0x0040 | 0x0400,
};

export interface SuperFields {
  geo: Geometry;
  freeBlocks: number;
  freeInodes: number;
  uuid: Buffer;
  hashSeed: Buffer;
  time: number;
  /** the journal inode's i_block and size, copied into s_jnl_blocks */
  journalIblock: Buffer;
  journalSize: number;
}

const lo32 = (n: number) => n % 2 ** 32;
const hi32 = (n: number) => Math.floor(n / 2 ** 32);

export function encodeSuper(f: SuperFields, group: number): Buffer {
  const s = Buffer.alloc(1024);
  const g = f.geo;
  const t = Math.max(0, Math.min(f.time, 2 ** 32 - 1));
  s.writeUInt32LE(g.inodes, 0x00);
  s.writeUInt32LE(lo32(g.blocks), 0x04);
  s.writeUInt32LE(lo32(f.freeBlocks), 0x0c);
  s.writeUInt32LE(f.freeInodes, 0x10);
  s.writeUInt32LE(0, 0x14); // first data block
  s.writeUInt32LE(2, 0x18); // 1024 << 2 = 4096
  s.writeUInt32LE(2, 0x1c);
  s.writeUInt32LE(32768, 0x20);
  s.writeUInt32LE(32768, 0x24);
  s.writeUInt32LE(g.inodesPerGroup, 0x28);
  s.writeUInt32LE(t, 0x30); // wtime
  s.writeInt16LE(-1, 0x36); // max mount count: no forced checks
  s.writeUInt16LE(0xef53, 0x38);
  s.writeUInt16LE(1, 0x3a); // clean
  s.writeUInt16LE(1, 0x3c); // errors: continue
  s.writeUInt32LE(t, 0x40); // lastcheck
  s.writeUInt32LE(1, 0x4c); // dynamic inode sizes
  s.writeUInt32LE(11, 0x54); // first non-reserved inode
  s.writeUInt16LE(256, 0x58);
  s.writeUInt16LE(group, 0x5a);
  s.writeUInt32LE(FEATURES.compat, 0x5c);
  s.writeUInt32LE(FEATURES.incompat, 0x60);
  s.writeUInt32LE(FEATURES.roCompat, 0x64);
  f.uuid.copy(s, 0x68);
  s.writeUInt32LE(8, 0xe0); // journal inode
  f.hashSeed.copy(s, 0xec);
  s[0xfc] = 1; // half-MD4
  s[0xfd] = 1; // s_jnl_blocks holds a copy of the journal's i_block
  s.writeUInt16LE(DESC_SIZE, 0xfe);
  s.writeUInt32LE(0x000c, 0x100); // default mount options: user_xattr, acl (as mke2fs)
  s.writeUInt32LE(t, 0x108); // mkfs time
  f.journalIblock.copy(s, 0x10c);
  s.writeUInt32LE(hi32(f.journalSize), 0x10c + 15 * 4);
  s.writeUInt32LE(lo32(f.journalSize), 0x10c + 16 * 4);
  s.writeUInt32LE(hi32(g.blocks), 0x150);
  s.writeUInt32LE(hi32(f.freeBlocks), 0x158);
  s.writeUInt16LE(32, 0x15c); // min extra isize
  s.writeUInt16LE(32, 0x15e); // want extra isize
  s.writeUInt32LE(0x2, 0x160); // unsigned directory hash
  s[0x174] = 4; // 16 groups per flex group
  s[0x175] = 1; // crc32c
  s.writeUInt32LE(crc32c(0xffffffff, s, 0, 0x3fc), 0x3fc);
  return s;
}

export interface GroupFields {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
}

function put64(b: Buffer, loAt: number, hiAt: number, n: number): void {
  b.writeUInt32LE(lo32(n), loAt);
  b.writeUInt32LE(hi32(n), hiAt);
}

function put32(b: Buffer, loAt: number, hiAt: number, n: number): void {
  b.writeUInt16LE(n & 0xffff, loAt);
  b.writeUInt16LE(n >>> 16, hiAt);
}

export function encodeGroupDesc(d: GroupFields, group: number, fsSeed: number): Buffer {
  const b = Buffer.alloc(DESC_SIZE);
  put64(b, 0x00, 0x20, d.blockBitmap);
  put64(b, 0x04, 0x24, d.inodeBitmap);
  put64(b, 0x08, 0x28, d.inodeTable);
  put32(b, 0x0c, 0x2c, d.freeBlocks);
  put32(b, 0x0e, 0x2e, d.freeInodes);
  put32(b, 0x10, 0x30, d.usedDirs);
  b.writeUInt16LE(0x0004, 0x12); // inode table zeroed
  put32(b, 0x18, 0x38, d.blockBitmapCsum);
  put32(b, 0x1a, 0x3a, d.inodeBitmapCsum);
  put32(b, 0x1c, 0x32, d.itableUnused);
  b.writeUInt16LE(crc32c(crc32cU32(fsSeed, group), b) & 0xffff, 0x1e);
  return b;
}

export function journalSuper(blocks: number, uuid: Buffer): Buffer {
  const j = Buffer.alloc(BLOCK);
  j.writeUInt32BE(0xc03b3998, 0x00);
  j.writeUInt32BE(4, 0x04); // superblock v2
  j.writeUInt32BE(BLOCK, 0x0c);
  j.writeUInt32BE(blocks, 0x10);
  j.writeUInt32BE(1, 0x14); // first log block
  j.writeUInt32BE(1, 0x18); // sequence
  uuid.copy(j, 0x30);
  j.writeUInt32BE(1, 0x40); // nr_users
  return j;
}
