// What an xfs v5 image, as this writer makes it, can hold.
import type { FormatLimits } from '../tree/limits.js';

export const XFS_LIMITS: FormatLimits = {
  format: 'xfs',
  // MAXNAMELEN 256 with the NUL (fs/xfs/libxfs/xfs_da_format.h)
  name: 255,
  // XFS_SYMLINK_MAXLEN (fs/xfs/libxfs/xfs_format.h)
  symlink: 1024,
  // XFS_MAXLINK (fs/xfs/xfs_inode.h): di_nlink is 32 bits, capped at 2^31 − 1
  links: 2 ** 31 - 1,
  // di_size is an xfs_fsize_t (64 bits); this writer counts in JS numbers
  fileSize: Number.MAX_SAFE_INTEGER,
  // di_uid / di_gid are 32 bits (v3 inodes)
  id: 2 ** 32 - 1,
  // the data fork of a device holds sysv_encode_dev (fs/xfs/libxfs/xfs_inode_buf.c,
  // include/linux/kdev_t.h): major << 18 | minor, a 14-bit major and an 18-bit minor
  major: 0x3fff,
  minor: 0x3ffff,
};
