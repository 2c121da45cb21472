// The 256-byte inode (format.ts INODE; kernel Documentation/filesystems/ext4/inodes.rst).
// Sizes, block counts (512-byte units: huge_file without HUGE_FILE_FL), the xattr block
// and ids are split into _lo/_hi (l_i_*_high) halves. The extra fields are all there
// (i_extra_isize 32: up to i_projid), in-inode xattrs follow them.
// A time is le32 seconds (low 32 bits, signed) + extra = nanoseconds << 2 | epoch bits,
// epoch = ((sec − (int32)sec) >> 32) & 3, so 1901..2446 round-trips (inodes.rst).
// Checksum: crc32c(fs seed, le32 ino, le32 generation, the inode with both halves zero).
import { crc32c, crc32cU32 } from './crc32c.js';
import { EXTRA_ISIZE, hi16, hi32, INODE, INODE_XATTR_AT, lo16, lo32 } from './format.js';

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

/** The low 32 bits of a time and its extra word (nanoseconds and epoch bits). */
function timeFields(t: { sec: number; nsec: number }): { low: number; extra: number } {
  const low = t.sec - Math.floor(t.sec / 2 ** 32) * 2 ** 32; // sec mod 2^32
  const signedLow = low >= 2 ** 31 ? low - 2 ** 32 : low;
  const epoch = ((t.sec - signedLow) / 2 ** 32) & 3;
  return { low, extra: ((t.nsec << 2) | epoch) >>> 0 };
}

export function encodeInode(f: InodeFields): Buffer {
  const { low, extra } = timeFields(f.time);
  const b = INODE.encode({
    i_mode: f.mode,
    i_uid: lo16(f.uid),
    l_i_uid_high: hi16(f.uid),
    i_gid: lo16(f.gid),
    l_i_gid_high: hi16(f.gid),
    i_size_lo: lo32(f.size),
    i_size_high: hi32(f.size),
    i_atime: low,
    i_atime_extra: extra,
    i_ctime: low,
    i_ctime_extra: extra,
    i_mtime: low,
    i_mtime_extra: extra,
    i_crtime: low,
    i_crtime_extra: extra,
    i_links_count: f.links,
    i_blocks_lo: lo32(f.sectors),
    l_i_blocks_high: hi32(f.sectors),
    i_flags: f.flags,
    i_block: f.iblock,
    i_file_acl_lo: lo32(f.xattrBlock),
    l_i_file_acl_high: hi32(f.xattrBlock),
    i_extra_isize: EXTRA_ISIZE,
  });
  if (f.xattrs) b.set(f.xattrs, INODE_XATTR_AT);
  return b;
}

/** The inode's checksum seed: directory, extent and xattr block checksums start from it. */
export function inodeSeed(fsSeed: number, ino: number): number {
  return crc32cU32(crc32cU32(fsSeed, ino), 0);
}

export function sealInode(b: Buffer, seed: number): void {
  INODE.encode({ l_i_checksum_lo: 0, i_checksum_hi: 0 }, b);
  const c = crc32c(seed, b);
  INODE.encode({ l_i_checksum_lo: lo16(c), i_checksum_hi: hi16(c) }, b);
}
