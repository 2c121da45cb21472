// The 256-byte inode (kernel Documentation/filesystems/ext4/inodes.rst).
// 0x00 le16 mode, 0x02 le16 uid_lo, 0x04 le32 size_lo, 0x08/0x0C/0x10 le32 atime, ctime,
// mtime, 0x14 dtime, 0x18 le16 gid_lo, 0x1A le16 links, 0x1C le32 blocks_lo (512-byte
// units: huge_file without HUGE_FILE_FL), 0x20 le32 flags, 0x28 i_block[60], 0x64
// generation, 0x68 le32 file_acl_lo (xattr block), 0x6C le32 size_high, 0x74 le16
// blocks_hi, 0x76 le16 file_acl_hi, 0x78 le16 uid_hi, 0x7A le16 gid_hi, 0x7C le16
// checksum_lo; 0x80 le16 extra_isize (32), 0x82 le16 checksum_hi, 0x84/0x88/0x8C
// ctime/mtime/atime_extra, 0x90 crtime, 0x94 crtime_extra; then in-inode xattrs.
// A time is le32 seconds (low 32 bits, signed) + extra = nanoseconds << 2 | epoch bits,
// epoch = ((sec − (int32)sec) >> 32) & 3, so 1901..2446 round-trips (inodes.rst).
// Checksum: crc32c(fs seed, le32 ino, le32 generation, the inode with both halves zero).
import { crc32c, crc32cU32 } from './crc32c.js';
import { INODE_SIZE } from './geometry.js';

export const EXTRA_ISIZE = 32;
/** bytes after the extra fields, for in-inode xattrs */
export const INODE_XATTR_ROOM = INODE_SIZE - 128 - EXTRA_ISIZE;

export const EXTENTS_FL = 0x80000;
export const INDEX_FL = 0x1000;

export interface InodeFields {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  links: number;
  /** in 512-byte units */
  sectors: number;
  flags: number;
  time: { sec: number; nsec: number };
  iblock: Uint8Array;
  xattrBlock: number;
  /** INODE_XATTR_ROOM bytes, or undefined */
  xattrs?: Uint8Array;
}

function putTime(b: Buffer, at: number, extraAt: number, t: { sec: number; nsec: number }): void {
  const low = t.sec - Math.floor(t.sec / 2 ** 32) * 2 ** 32; // sec mod 2^32
  const signedLow = low >= 2 ** 31 ? low - 2 ** 32 : low;
  const epoch = ((t.sec - signedLow) / 2 ** 32) & 3;
  b.writeUInt32LE(low, at);
  b.writeUInt32LE(((t.nsec << 2) | epoch) >>> 0, extraAt);
}

export function encodeInode(f: InodeFields): Buffer {
  const b = Buffer.alloc(INODE_SIZE);
  b.writeUInt16LE(f.mode, 0x00);
  b.writeUInt16LE(f.uid & 0xffff, 0x02);
  b.writeUInt32LE(f.size % 2 ** 32, 0x04);
  putTime(b, 0x08, 0x8c, f.time);
  putTime(b, 0x0c, 0x84, f.time);
  putTime(b, 0x10, 0x88, f.time);
  putTime(b, 0x90, 0x94, f.time);
  b.writeUInt16LE(f.gid & 0xffff, 0x18);
  b.writeUInt16LE(f.links, 0x1a);
  b.writeUInt32LE(f.sectors % 2 ** 32, 0x1c);
  b.writeUInt32LE(f.flags, 0x20);
  b.set(f.iblock, 0x28);
  b.writeUInt32LE(f.xattrBlock % 2 ** 32, 0x68);
  b.writeUInt32LE(Math.floor(f.size / 2 ** 32), 0x6c);
  b.writeUInt16LE(Math.floor(f.sectors / 2 ** 32), 0x74);
  b.writeUInt16LE(Math.floor(f.xattrBlock / 2 ** 32), 0x76);
  b.writeUInt16LE(f.uid >>> 16, 0x78);
  b.writeUInt16LE(f.gid >>> 16, 0x7a);
  b.writeUInt16LE(EXTRA_ISIZE, 0x80);
  if (f.xattrs) b.set(f.xattrs, 128 + EXTRA_ISIZE);
  return b;
}

/** The inode's checksum seed: directory, extent and xattr block checksums start from it. */
export function inodeSeed(fsSeed: number, ino: number): number {
  return crc32cU32(crc32cU32(fsSeed, ino), 0);
}

export function sealInode(b: Buffer, seed: number): void {
  b.writeUInt16LE(0, 0x7c);
  b.writeUInt16LE(0, 0x82);
  const c = crc32c(seed, b);
  b.writeUInt16LE(c & 0xffff, 0x7c);
  b.writeUInt16LE(c >>> 16, 0x82);
}
