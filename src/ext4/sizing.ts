// How big an ext4 image is and how many inodes it gets.
// - Free space: size_buffer_mb, or when it is 0 Fledge's auto rule (fledge
//   internal/builder/oci_rootfs.go: du + 25 %, at least 64 MiB, at most 1024 MiB), so a
//   read-write root (seed 002: persistent data) has room to write.
// - Inodes: never fewer than `mke2fs -t ext4` gives a filesystem of the same size.
//   mke2fs picks a usage type by size (misc/mke2fs.c parse_fs_type: under 3 MiB "floppy",
//   under 512 MiB "small", under 4 TiB "default", under 16 TiB "big", else "huge"), takes
//   that type's blocksize and inode_ratio from mke2fs.conf (misc/mke2fs.conf.in: default
//   4096 / 16384; small 1024 / 4096; floppy 1024 / 8192; big 32768; huge 65536 bytes per
//   inode), and spreads size / inode_ratio inodes over its groups the way
//   lib/ext2fs/initialize.c does (per group: rounded up to fill whole inode-table blocks,
//   then down to a multiple of 8).
import { INODE_SIZE } from './format.js';

const MiB = 1024 * 1024;

export const AUTO_BUFFER = { fraction: 0.25, min: 64 * MiB, max: 1024 * MiB };

/** mke2fs's usage types by filesystem size: [size below which it applies, blocksize, bytes per inode]. */
const USAGE_TYPES: [number, number, number][] = [
  [3 * MiB, 1024, 8192], // floppy
  [512 * MiB, 1024, 4096], // small
  [4 * 1024 * 1024 * MiB, 4096, 16384], // default
  [16 * 1024 * 1024 * MiB, 4096, 32768], // big
  [Infinity, 4096, 65536], // huge
];

/** Free bytes to leave: `sizeBufferMb` MiB, or the auto rule for 0. */
export function bufferBytes(sizeBufferMb: number, contentBytes: number): number {
  if (sizeBufferMb > 0) return sizeBufferMb * MiB;
  const { fraction, min, max } = AUTO_BUFFER;
  return Math.min(max, Math.max(min, Math.ceil(contentBytes * fraction)));
}

/** The inode count initialize.c gives `inodes` spread over groups of a `blockSize` filesystem of `bytes`. */
function spread(bytes: number, blockSize: number, inodes: number): number {
  const blocks = Math.floor(bytes / blockSize);
  const groups = Math.max(1, Math.ceil(blocks / (blockSize * 8)));
  let ipg = Math.min(Math.ceil(inodes / groups), blockSize * 8);
  ipg = (Math.ceil((ipg * INODE_SIZE) / blockSize) * blockSize) / INODE_SIZE;
  return (ipg & ~7) * groups;
}

/** The inodes `mke2fs -t ext4` gives a filesystem of `bytes` (with its own blocksize, and with -b 4096), whichever is more. */
export function mke2fsInodes(bytes: number): number {
  const [, blockSize, ratio] = USAGE_TYPES.find(([below]) => bytes < below)!;
  const inodes = Math.floor(bytes / ratio);
  return Math.max(spread(bytes, blockSize, inodes), spread(bytes, 4096, inodes));
}
