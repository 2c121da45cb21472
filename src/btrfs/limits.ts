// What this btrfs writer (and btrfs itself) can hold.
import type { FormatLimits } from '../tree/limits.js';
import { SECTOR } from './format.js';

export const BTRFS_LIMITS: FormatLimits = {
  format: 'btrfs',
  // BTRFS_NAME_LEN (include/uapi/linux/btrfs_tree.h)
  name: 255,
  // a symlink is one inline extent; the VFS takes at most PATH_MAX (4096) with the NUL, and
  // btrfs check wants an uncompressed inline extent below one sector
  symlink: SECTOR - 1,
  // BTRFS_LINK_MAX (fs/btrfs/ctree.h): i_nlink is checked against 65535
  links: 65535,
  // s_maxbytes = MAX_LFS_FILESIZE (fs/btrfs/super.c): 2^63 - 1
  fileSize: 2 ** 63 - 1,
  // btrfs_inode_item uid/gid are __le32
  id: 2 ** 32 - 1,
  // btrfs_inode_item rdev holds the kernel's dev_t (inode->i_rdev, MKDEV: 12-bit major,
  // 20-bit minor; include/linux/kdev_t.h)
  major: 0xfff,
  minor: 0xfffff,
};
