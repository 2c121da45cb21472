// POSIX file types, permission bits and device numbers: the one home every writer (ext4,
// xfs, btrfs, squashfs, cpio) and the test helpers take them from.
// - st_mode: the file type in the bits of S_IFMT, permissions and set-id/sticky bits in
//   0o7777 (include/uapi/linux/stat.h; POSIX <sys/stat.h>).
// - Device numbers as each format stores them (include/linux/kdev_t.h): the kernel's
//   dev_t MKDEV(major, minor) = major << 20 | minor (MINORBITS 20; btrfs's inode item);
//   new_encode_dev, the 32-bit form with a 12-bit major and a 20-bit minor that keeps
//   old 8:8 numbers as they were (ext4's i_block[1], squashfs's rdev, glibc's st_rdev
//   for small numbers); sysv_encode_dev, major << 18 | minor (xfs's di_u).
import type { NodeType } from './tree/tree.js';

export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** Permission, set-id and sticky bits (the kernel's S_IALLUGO). */
export const S_IALLUGO = 0o7777;
/** Read, write and execute for user, group and others (S_IRWXUGO). */
export const S_IRWXUGO = 0o777;

/** The S_IFMT bits of each node type. */
export const S_IF: Readonly<Record<NodeType, number>> = {
  dir: S_IFDIR,
  file: S_IFREG,
  symlink: S_IFLNK,
  char: S_IFCHR,
  block: S_IFBLK,
  fifo: S_IFIFO,
  socket: S_IFSOCK,
};

/** The node type of an st_mode, or undefined for bits no type has. */
export function typeOfMode(mode: number): NodeType | undefined {
  const bits = mode & S_IFMT;
  return (Object.keys(S_IF) as NodeType[]).find((t) => S_IF[t] === bits);
}

export interface DevNumber {
  major: number;
  minor: number;
}

/** new_encode_dev: minor's low 8 bits, then 12 bits of major, then minor's upper 12 bits. */
export function newEncodeDev({ major, minor }: DevNumber): number {
  return ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

/** new_decode_dev, the inverse of newEncodeDev. */
export function newDecodeDev(dev: number): DevNumber {
  return { major: (dev >>> 8) & 0xfff, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}

/** The kernel's dev_t: MKDEV(major, minor) = major << MINORBITS (20) | minor. */
export function mkdev({ major, minor }: DevNumber): number {
  return major * 2 ** 20 + minor;
}

/** sysv_encode_dev: major << 18 | minor (14-bit major, 18-bit minor). */
export function sysvEncodeDev({ major, minor }: DevNumber): number {
  return ((major << 18) | minor) >>> 0;
}
