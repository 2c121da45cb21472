// What a btrfs image, as this writer makes it, can hold.
import type { FormatLimits } from '../tree/limits.js';

export const BTRFS_LIMITS: FormatLimits = {
  format: 'btrfs',
  // BTRFS_NAME_LEN (include/uapi/linux/btrfs_tree.h)
  name: 255,
  // a target is kept inline, below one 4 KiB sector (btrfs check: inline < sectorsize);
  // symlink(2) takes at most PATH_MAX (4096) with the NUL anyway
  symlink: 4095,
  // BTRFS_LINK_MAX (fs/btrfs/ctree.h)
  links: 65535,
  // the inode item's size is 64 bits; this writer counts in JS numbers
  fileSize: Number.MAX_SAFE_INTEGER,
  // the inode item's uid / gid are 32 bits
  id: 2 ** 32 - 1,
  // rdev is the kernel's dev_t, MKDEV(major, minor) (include/linux/kdev_t.h): a 12-bit
  // major and a 20-bit minor
  major: 0xfff,
  minor: 0xfffff,
};
