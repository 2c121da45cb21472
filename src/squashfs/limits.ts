// What a squashfs 4.0 image can hold so that the kernel and unsquashfs give back the
// same tree, and the choices this writer takes (block sizes, compressors and levels).
// Plain data: config imports it to check fledge.toml against the writer's own rules.
import type { FormatLimits } from '../tree/limits.js';

export const SQUASHFS_LIMITS: FormatLimits = {
  format: 'squashfs',
  // SQUASHFS_NAME_LEN is 256 (squashfs_fs.h), but no Linux filesystem creates a name
  // over NAME_MAX (255, include/uapi/linux/limits.h): unsquashfs cannot unpack one
  name: 255,
  // the inode stores a u32 target size, but symlink(2) takes at most PATH_MAX (4096)
  // with the NUL, so unsquashfs cannot create a longer one
  symlink: 4095,
  // nlink is a u32 in every inode (squashfs-tools-ng doc/format.adoc, "Inode Table")
  links: 2 ** 32 - 1,
  // extended file inodes hold a u64 size; this writer counts in JS numbers
  fileSize: Number.MAX_SAFE_INTEGER,
  // the id table holds u32 ids (format.adoc, "ID Table")
  id: 2 ** 32 - 1,
  // a device inode's u32 rdev goes through new_decode_dev (fs/squashfs/inode.c,
  // include/linux/kdev_t.h): a 12-bit major and a 20-bit minor
  major: 0xfff,
  minor: 0xfffff,
};

/** data block sizes: a power of two in this range (super.h SQFS_MIN/MAX_BLOCK_SIZE), mksquashfs's default */
export const BLOCK_SIZE_MIN = 4096;
export const BLOCK_SIZE_MAX = 1048576;
export const DEFAULT_BLOCK_SIZE = 131072;

export type CompressorName = 'zstd' | 'gzip' | 'lz4';

/** the compressors this writer has */
export const COMPRESSOR_NAMES: readonly CompressorName[] = ['zstd', 'gzip', 'lz4'];
export const DEFAULT_COMPRESSOR: CompressorName = 'zstd';

/**
 * Levels: 1 to max, squashfs-tools' default; lz4 has no levels in squashfs (only a
 * high-compression flag, not written here).
 */
export const COMPRESSOR_LEVELS: Record<CompressorName, { max: number; defaultLevel: number }> = {
  gzip: { max: 9, defaultLevel: 9 },
  lz4: { max: 1, defaultLevel: 1 },
  zstd: { max: 22, defaultLevel: 15 },
};
