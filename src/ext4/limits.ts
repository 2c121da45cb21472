// What ext4 (4 KiB blocks, extents, the inode fields this writer fills) can hold.
import type { FormatLimits } from '../tree/limits.js';
import { BLOCK } from './format.js';

export const EXT4_LIMITS: FormatLimits = {
  format: 'ext4',
  // EXT4_NAME_LEN (fs/ext4/ext4.h): a directory entry's name_len is one byte
  name: 255,
  // ext4_symlink (fs/ext4/namei.c): the target with its NUL fits one block, and the VFS
  // takes at most PATH_MAX (4096) with the NUL
  symlink: 4095,
  // EXT4_LINK_MAX (fs/ext4/ext4.h): i_links_count is 16 bits; directories past it are
  // written with 1 (dir_nlink) by the writer, so this counts hard links of other nodes
  links: 65000,
  // ext4_max_size (fs/ext4/super.c): extent files end at logical block EXT_MAX_BLOCKS
  // (2^32 − 1), times the 4096-byte block
  fileSize: (2 ** 32 - 1) * BLOCK,
  // i_uid/i_gid low 16 bits + osd2 high 16 bits (Documentation/filesystems/ext4/inodes.rst)
  id: 2 ** 32 - 1,
  // the "new" encoding in i_block[1] (fs/ext4/inode.c, __ext4_iget and
  // ext4_do_update_inode; new_encode_dev in include/linux/kdev_t.h): a 12-bit major
  // and a 20-bit minor
  major: 0xfff,
  minor: 0xfffff,
};
