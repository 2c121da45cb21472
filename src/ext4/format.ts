// ext4's on-disk structures, declared once as data, in the kernel's names.
// Sources: fs/ext4/ext4.h (struct ext4_super_block, ext4_group_desc, ext4_inode,
// ext4_dir_entry_2, ext4_dir_entry_tail), fs/ext4/ext4_extents.h (ext4_extent_header,
// ext4_extent, ext4_extent_idx, ext4_extent_tail), fs/ext4/namei.c (fake_dirent,
// dx_root_info, dx_countlimit, dx_entry, dx_tail), fs/ext4/xattr.h (ext4_xattr_header,
// ext4_xattr_ibody_header, ext4_xattr_entry), fs/ext4/acl.h (ext4_acl_header,
// ext4_acl_entry), include/uapi/linux/posix_acl_xattr.h (the xattr form of an ACL),
// include/linux/jbd2.h (journal_superblock_t); Documentation/filesystems/ext4/*.rst.
// Every multi-byte field is little-endian except the journal's, which are big-endian.
import { defineStruct } from '../struct.js';

/** The block size this writer uses (s_log_block_size 2: 1024 << 2). */
export const BLOCK = 4096;
export const BLOCKS_PER_GROUP = 32768;
export const INODE_SIZE = 256;
/** EXT4_GOOD_OLD_INODE_SIZE: the inode before i_extra_isize */
export const GOOD_OLD_INODE_SIZE = 128;
export const DESC_SIZE = 64;
/** The primary superblock's byte offset (EXT4_MIN_BLOCK_SIZE: after the boot sector). */
export const SUPER_OFFSET = 1024;

/** Numbers split into the _lo and _hi halves of a field pair. */
export const lo32 = (n: number) => n % 2 ** 32;
export const hi32 = (n: number) => Math.floor(n / 2 ** 32);
export const lo16 = (n: number) => n & 0xffff;
export const hi16 = (n: number) => n >>> 16;

/** ext4.h struct ext4_super_block: 1024 bytes at byte 1024 of block 0 and of each backup group. */
export const SUPER = defineStruct('ext4_super_block', 1024, {
  s_inodes_count: [0x00, 'le32'],
  s_blocks_count_lo: [0x04, 'le32'],
  s_r_blocks_count_lo: [0x08, 'le32'],
  s_free_blocks_count_lo: [0x0c, 'le32'],
  s_free_inodes_count: [0x10, 'le32'],
  s_first_data_block: [0x14, 'le32'],
  s_log_block_size: [0x18, 'le32'],
  s_log_cluster_size: [0x1c, 'le32'],
  s_blocks_per_group: [0x20, 'le32'],
  s_clusters_per_group: [0x24, 'le32'],
  s_inodes_per_group: [0x28, 'le32'],
  s_mtime: [0x2c, 'le32'],
  s_wtime: [0x30, 'le32'],
  s_mnt_count: [0x34, 'le16'],
  s_max_mnt_count: [0x36, 'le16'],
  s_magic: [0x38, 'le16'],
  s_state: [0x3a, 'le16'],
  s_errors: [0x3c, 'le16'],
  s_minor_rev_level: [0x3e, 'le16'],
  s_lastcheck: [0x40, 'le32'],
  s_checkinterval: [0x44, 'le32'],
  s_creator_os: [0x48, 'le32'],
  s_rev_level: [0x4c, 'le32'],
  s_def_resuid: [0x50, 'le16'],
  s_def_resgid: [0x52, 'le16'],
  s_first_ino: [0x54, 'le32'],
  s_inode_size: [0x58, 'le16'],
  s_block_group_nr: [0x5a, 'le16'],
  s_feature_compat: [0x5c, 'le32'],
  s_feature_incompat: [0x60, 'le32'],
  s_feature_ro_compat: [0x64, 'le32'],
  s_uuid: [0x68, 'bytes', 16],
  s_volume_name: [0x78, 'bytes', 16],
  s_last_mounted: [0x88, 'bytes', 64],
  s_algorithm_usage_bitmap: [0xc8, 'le32'],
  s_prealloc_blocks: [0xcc, 'u8'],
  s_prealloc_dir_blocks: [0xcd, 'u8'],
  s_reserved_gdt_blocks: [0xce, 'le16'],
  s_journal_uuid: [0xd0, 'bytes', 16],
  s_journal_inum: [0xe0, 'le32'],
  s_journal_dev: [0xe4, 'le32'],
  s_last_orphan: [0xe8, 'le32'],
  s_hash_seed: [0xec, 'le32', 4],
  s_def_hash_version: [0xfc, 'u8'],
  s_jnl_backup_type: [0xfd, 'u8'],
  s_desc_size: [0xfe, 'le16'],
  s_default_mount_opts: [0x100, 'le32'],
  s_first_meta_bg: [0x104, 'le32'],
  s_mkfs_time: [0x108, 'le32'],
  // a copy of the journal inode's i_block[15], then i_size_high and i_size
  s_jnl_blocks: [0x10c, 'le32', 17],
  s_blocks_count_hi: [0x150, 'le32'],
  s_r_blocks_count_hi: [0x154, 'le32'],
  s_free_blocks_count_hi: [0x158, 'le32'],
  s_min_extra_isize: [0x15c, 'le16'],
  s_want_extra_isize: [0x15e, 'le16'],
  s_flags: [0x160, 'le32'],
  s_raid_stride: [0x164, 'le16'],
  s_mmp_update_interval: [0x166, 'le16'],
  s_mmp_block: [0x168, 'le64'],
  s_raid_stripe_width: [0x170, 'le32'],
  s_log_groups_per_flex: [0x174, 'u8'],
  s_checksum_type: [0x175, 'u8'],
  s_encryption_level: [0x176, 'u8'],
  s_reserved_pad: [0x177, 'u8'],
  s_kbytes_written: [0x178, 'le64'],
  s_snapshot_inum: [0x180, 'le32'],
  s_snapshot_id: [0x184, 'le32'],
  s_snapshot_r_blocks_count: [0x188, 'le64'],
  s_snapshot_list: [0x190, 'le32'],
  s_error_count: [0x194, 'le32'],
  s_first_error_time: [0x198, 'le32'],
  s_first_error_ino: [0x19c, 'le32'],
  s_first_error_block: [0x1a0, 'le64'],
  s_first_error_func: [0x1a8, 'bytes', 32],
  s_first_error_line: [0x1c8, 'le32'],
  s_last_error_time: [0x1cc, 'le32'],
  s_last_error_ino: [0x1d0, 'le32'],
  s_last_error_line: [0x1d4, 'le32'],
  s_last_error_block: [0x1d8, 'le64'],
  s_last_error_func: [0x1e0, 'bytes', 32],
  s_mount_opts: [0x200, 'bytes', 64],
  s_usr_quota_inum: [0x240, 'le32'],
  s_grp_quota_inum: [0x244, 'le32'],
  s_overhead_clusters: [0x248, 'le32'],
  s_backup_bgs: [0x24c, 'le32', 2],
  s_encrypt_algos: [0x254, 'bytes', 4],
  s_encrypt_pw_salt: [0x258, 'bytes', 16],
  s_lpf_ino: [0x268, 'le32'],
  s_prj_quota_inum: [0x26c, 'le32'],
  s_checksum_seed: [0x270, 'le32'],
  s_wtime_hi: [0x274, 'u8'],
  s_mtime_hi: [0x275, 'u8'],
  s_mkfs_time_hi: [0x276, 'u8'],
  s_lastcheck_hi: [0x277, 'u8'],
  s_first_error_time_hi: [0x278, 'u8'],
  s_last_error_time_hi: [0x279, 'u8'],
  s_first_error_errcode: [0x27a, 'u8'],
  s_last_error_errcode: [0x27b, 'u8'],
  s_encoding: [0x27c, 'le16'],
  s_encoding_flags: [0x27e, 'le16'],
  s_orphan_file_inum: [0x280, 'le32'],
  // s_reserved[94]
  s_checksum: [0x3fc, 'le32'],
});
/** The bytes s_checksum covers: crc32c(~0, the superblock before it) (ext4_superblock_csum). */
export const SUPER_CSUM_END = SUPER.fields.s_checksum[0];
export const EXT4_SUPER_MAGIC = 0xef53;
export const EXT4_VALID_FS = 0x0001;
export const EXT4_ERRORS_CONTINUE = 1;
export const EXT4_DYNAMIC_REV = 1;
/** s_jnl_backup_type: s_jnl_blocks holds a copy of the journal inode's i_block */
export const EXT3_JNL_BACKUP_BLOCKS = 1;
/** s_default_mount_opts EXT4_DEFM_XATTR_USER | EXT4_DEFM_ACL, as mke2fs sets them */
export const DEFM_XATTR_USER_ACL = 0x0004 | 0x0008;
/** s_flags EXT2_FLAGS_UNSIGNED_HASH */
export const FLAGS_UNSIGNED_HASH = 0x0002;
/** s_checksum_type EXT4_CRC32C_CHKSUM */
export const CRC32C_CHKSUM = 1;
/** s_def_hash_version / dx_root_info.hash_version DX_HASH_HALF_MD4 */
export const DX_HASH_HALF_MD4 = 1;

/** Feature bits (ext4.h EXT4_FEATURE_*): those of e2fsprogs 1.47's ext4 this writer makes. */
export const FEATURES = {
  // HAS_JOURNAL, EXT_ATTR, DIR_INDEX
  compat: 0x0004 | 0x0008 | 0x0020,
  // FILETYPE, EXTENTS, 64BIT, FLEX_BG
  incompat: 0x0002 | 0x0040 | 0x0080 | 0x0200,
  // SPARSE_SUPER, LARGE_FILE, HUGE_FILE, DIR_NLINK, EXTRA_ISIZE, METADATA_CSUM
  roCompat: 0x0001 | 0x0002 | 0x0008 | 0x0020 | 0x0040 | 0x0400,
};

/** ext4.h struct ext4_group_desc, 64 bytes with the 64bit feature (s_desc_size). */
export const GROUP_DESC = defineStruct('ext4_group_desc', DESC_SIZE, {
  bg_block_bitmap_lo: [0x00, 'le32'],
  bg_inode_bitmap_lo: [0x04, 'le32'],
  bg_inode_table_lo: [0x08, 'le32'],
  bg_free_blocks_count_lo: [0x0c, 'le16'],
  bg_free_inodes_count_lo: [0x0e, 'le16'],
  bg_used_dirs_count_lo: [0x10, 'le16'],
  bg_flags: [0x12, 'le16'],
  bg_exclude_bitmap_lo: [0x14, 'le32'],
  bg_block_bitmap_csum_lo: [0x18, 'le16'],
  bg_inode_bitmap_csum_lo: [0x1a, 'le16'],
  bg_itable_unused_lo: [0x1c, 'le16'],
  bg_checksum: [0x1e, 'le16'],
  bg_block_bitmap_hi: [0x20, 'le32'],
  bg_inode_bitmap_hi: [0x24, 'le32'],
  bg_inode_table_hi: [0x28, 'le32'],
  bg_free_blocks_count_hi: [0x2c, 'le16'],
  bg_free_inodes_count_hi: [0x2e, 'le16'],
  bg_used_dirs_count_hi: [0x30, 'le16'],
  bg_itable_unused_hi: [0x32, 'le16'],
  bg_exclude_bitmap_hi: [0x34, 'le32'],
  bg_block_bitmap_csum_hi: [0x38, 'le16'],
  bg_inode_bitmap_csum_hi: [0x3a, 'le16'],
  bg_reserved: [0x3c, 'le32'],
});
/** bg_flags EXT4_BG_INODE_ZEROED */
export const BG_INODE_ZEROED = 0x0004;

/**
 * ext4.h struct ext4_inode (osd1/osd2 as their linux1/linux2 forms), then the in-inode
 * xattrs from GOOD_OLD_INODE_SIZE + i_extra_isize up to s_inode_size. i_block is
 * __le32[15] in the header; it holds an extent root, a fast symlink's target or a device
 * number, so it is declared as its 60 bytes.
 */
export const INODE = defineStruct('ext4_inode', INODE_SIZE, {
  i_mode: [0x00, 'le16'],
  i_uid: [0x02, 'le16'],
  i_size_lo: [0x04, 'le32'],
  i_atime: [0x08, 'le32'],
  i_ctime: [0x0c, 'le32'],
  i_mtime: [0x10, 'le32'],
  i_dtime: [0x14, 'le32'],
  i_gid: [0x18, 'le16'],
  i_links_count: [0x1a, 'le16'],
  i_blocks_lo: [0x1c, 'le32'],
  i_flags: [0x20, 'le32'],
  l_i_version: [0x24, 'le32'],
  i_block: [0x28, 'bytes', 60],
  i_generation: [0x64, 'le32'],
  i_file_acl_lo: [0x68, 'le32'],
  i_size_high: [0x6c, 'le32'],
  i_obso_faddr: [0x70, 'le32'],
  l_i_blocks_high: [0x74, 'le16'],
  l_i_file_acl_high: [0x76, 'le16'],
  l_i_uid_high: [0x78, 'le16'],
  l_i_gid_high: [0x7a, 'le16'],
  l_i_checksum_lo: [0x7c, 'le16'],
  l_i_reserved: [0x7e, 'le16'],
  i_extra_isize: [0x80, 'le16'],
  i_checksum_hi: [0x82, 'le16'],
  i_ctime_extra: [0x84, 'le32'],
  i_mtime_extra: [0x88, 'le32'],
  i_atime_extra: [0x8c, 'le32'],
  i_crtime: [0x90, 'le32'],
  i_crtime_extra: [0x94, 'le32'],
  i_version_hi: [0x98, 'le32'],
  i_projid: [0x9c, 'le32'],
});
/** i_extra_isize (and s_min/want_extra_isize): the whole struct ext4_inode, up to i_projid. */
export const EXTRA_ISIZE = INODE.fields.i_projid[0] + 4 - GOOD_OLD_INODE_SIZE;
/** Where the in-inode xattrs start, and the bytes they have. */
export const INODE_XATTR_AT = GOOD_OLD_INODE_SIZE + EXTRA_ISIZE;
export const INODE_XATTR_ROOM = INODE_SIZE - INODE_XATTR_AT;
/** i_block's size: the extent root's room, a fast symlink's (target plus NUL) */
export const IBLOCK_SIZE = INODE.fields.i_block[2];
/** i_flags EXT4_EXTENTS_FL, EXT4_INDEX_FL */
export const EXTENTS_FL = 0x80000;
export const INDEX_FL = 0x1000;

/**
 * i_block of a char or block device (fs/ext4/inode.c ext4_do_update_inode, __ext4_iget):
 * i_block[0] = old_encode_dev when the number fits 8:8, else 0 and i_block[1] =
 * new_encode_dev. This writer always uses the new form.
 */
export const DEVICE_IBLOCK = defineStruct('i_block (device)', IBLOCK_SIZE, {
  old_dev: [0, 'le32'],
  new_dev: [4, 'le32'],
});

/** ext4_extents.h struct ext4_extent_header: starts i_block and every extent tree block. */
export const EXTENT_HEADER = defineStruct('ext4_extent_header', 12, {
  eh_magic: [0, 'le16'],
  eh_entries: [2, 'le16'],
  eh_max: [4, 'le16'],
  eh_depth: [6, 'le16'],
  eh_generation: [8, 'le32'],
});
export const EXT4_EXT_MAGIC = 0xf30a;
/** ext4_extents.h struct ext4_extent: a leaf entry. */
export const EXTENT = defineStruct('ext4_extent', 12, {
  ee_block: [0, 'le32'],
  ee_len: [4, 'le16'],
  ee_start_hi: [6, 'le16'],
  ee_start_lo: [8, 'le32'],
});
/** ext4_extents.h struct ext4_extent_idx: an index entry. */
export const EXTENT_IDX = defineStruct('ext4_extent_idx', 12, {
  ei_block: [0, 'le32'],
  ei_leaf_lo: [4, 'le32'],
  ei_leaf_hi: [8, 'le16'],
  ei_unused: [10, 'le16'],
});
/** ext4_extents.h struct ext4_extent_tail: after eh_max entries of a tree block. */
export const EXTENT_TAIL = defineStruct('ext4_extent_tail', 4, {
  et_checksum: [0, 'le32'],
});
/** EXT_INIT_MAX_LEN: the longest initialized extent */
export const MAX_EXTENT_LEN = 32768;

/** ext4.h struct ext4_dir_entry_2; the name (name_len bytes) follows. */
export const DIRENT = defineStruct('ext4_dir_entry_2', 8, {
  inode: [0, 'le32'],
  rec_len: [4, 'le16'],
  name_len: [6, 'u8'],
  file_type: [7, 'u8'],
});
/** ext4.h struct ext4_dir_entry_tail: the last 12 bytes of a leaf block with metadata_csum. */
export const DIRENT_TAIL = defineStruct('ext4_dir_entry_tail', 12, {
  det_reserved_zero1: [0, 'le32'],
  det_rec_len: [4, 'le16'],
  det_reserved_zero2: [6, 'u8'],
  det_reserved_ft: [7, 'u8'],
  det_checksum: [8, 'le32'],
});
/** det_reserved_ft EXT4_FT_DIR_CSUM */
export const FT_DIR_CSUM = 0xde;
/** ext4.h EXT4_FT_*: a directory entry's file_type. */
export const FT = { file: 1, dir: 2, char: 3, block: 4, fifo: 5, socket: 6, symlink: 7 } as const;

/**
 * namei.c struct dx_root: "." and ".." as fake_dirents with their names padded to 4
 * (so a 12-byte "." and a ".." reaching the block's end), then dx_root_info; the
 * dx_entry array follows.
 */
export const DX_ROOT = defineStruct('dx_root', 32, {
  dot: [0, 'bytes', 12],
  dotdot: [12, 'bytes', 12],
  'info.reserved_zero': [24, 'le32'],
  'info.hash_version': [28, 'u8'],
  'info.info_length': [29, 'u8'],
  'info.indirect_levels': [30, 'u8'],
  'info.unused_flags': [31, 'u8'],
});
/** namei.c struct dx_node: a fake_dirent (inode 0) spanning the block; the dx_entry array follows. */
export const DX_NODE = defineStruct('dx_node', 8, {
  'fake.inode': [0, 'le32'],
  'fake.rec_len': [4, 'le16'],
  'fake.name_len': [6, 'u8'],
  'fake.file_type': [7, 'u8'],
});
/** namei.c struct dx_entry; entry 0's hash holds the dx_countlimit. */
export const DX_ENTRY = defineStruct('dx_entry', 8, {
  hash: [0, 'le32'],
  block: [4, 'le32'],
});
/** namei.c struct dx_countlimit, over dx_entry 0's hash. */
export const DX_COUNTLIMIT = defineStruct('dx_countlimit', 4, {
  limit: [0, 'le16'],
  count: [2, 'le16'],
});
/** namei.c struct dx_tail: after `limit` entries of a dx block with metadata_csum. */
export const DX_TAIL = defineStruct('dx_tail', 8, {
  dt_reserved: [0, 'le32'],
  dt_checksum: [4, 'le32'],
});

/** xattr.h struct ext4_xattr_header: starts an xattr block; entries follow (32 bytes in). */
export const XATTR_HEADER = defineStruct('ext4_xattr_header', 32, {
  h_magic: [0, 'le32'],
  h_refcount: [4, 'le32'],
  h_blocks: [8, 'le32'],
  h_hash: [12, 'le32'],
  h_checksum: [16, 'le32'],
  h_reserved: [20, 'le32', 3],
});
/** xattr.h struct ext4_xattr_ibody_header: starts the in-inode xattrs. */
export const XATTR_IBODY_HEADER = defineStruct('ext4_xattr_ibody_header', 4, {
  h_magic: [0, 'le32'],
});
/** xattr.h struct ext4_xattr_entry; e_name (e_name_len bytes) follows, padded to 4 (EXT4_XATTR_PAD). */
export const XATTR_ENTRY = defineStruct('ext4_xattr_entry', 16, {
  e_name_len: [0, 'u8'],
  e_name_index: [1, 'u8'],
  e_value_offs: [2, 'le16'],
  e_value_inum: [4, 'le32'],
  e_value_size: [8, 'le32'],
  e_hash: [12, 'le32'],
});
/** EXT4_XATTR_MAGIC */
export const XATTR_MAGIC = 0xea020000;
/** The zero word (EXT4_XATTR_ENTRY list end) after the last entry. */
export const XATTR_END = 4;

/** acl.h ext4_acl_header: EXT4_ACL_VERSION 1, then short and long entries. */
export const ACL_HEADER = defineStruct('ext4_acl_header', 4, { a_version: [0, 'le32'] });
export const EXT4_ACL_VERSION = 1;
/** acl.h ext4_acl_entry (ACL_USER, ACL_GROUP: with an id) and ext4_acl_entry_short (the rest). */
export const ACL_ENTRY = defineStruct('ext4_acl_entry', 8, {
  e_tag: [0, 'le16'],
  e_perm: [2, 'le16'],
  e_id: [4, 'le32'],
});
export const ACL_ENTRY_SHORT = defineStruct('ext4_acl_entry_short', 4, { e_tag: [0, 'le16'], e_perm: [2, 'le16'] });
/** posix_acl_xattr.h: the value of system.posix_acl_* as tar and the VFS carry it (version 2). */
export const POSIX_ACL_XATTR_HEADER = defineStruct('posix_acl_xattr_header', 4, { a_version: [0, 'le32'] });
export const POSIX_ACL_XATTR_VERSION = 2;
export const POSIX_ACL_XATTR_ENTRY = defineStruct('posix_acl_xattr_entry', 8, {
  e_tag: [0, 'le16'],
  e_perm: [2, 'le16'],
  e_id: [4, 'le32'],
});
/** include/uapi/linux/posix_acl.h ACL_USER, ACL_GROUP: the tags with an id */
export const ACL_USER = 0x02;
export const ACL_GROUP = 0x08;

/**
 * jbd2.h journal_superblock_t (big-endian) in the journal's block 0, after its
 * journal_header_t (h_magic, h_blocktype, h_sequence).
 */
export const JOURNAL_SUPER = defineStruct('journal_superblock_t', 1024, {
  h_magic: [0x00, 'be32'],
  h_blocktype: [0x04, 'be32'],
  h_sequence: [0x08, 'be32'],
  s_blocksize: [0x0c, 'be32'],
  s_maxlen: [0x10, 'be32'],
  s_first: [0x14, 'be32'],
  s_sequence: [0x18, 'be32'],
  s_start: [0x1c, 'be32'],
  s_errno: [0x20, 'be32'],
  s_feature_compat: [0x24, 'be32'],
  s_feature_incompat: [0x28, 'be32'],
  s_feature_ro_compat: [0x2c, 'be32'],
  s_uuid: [0x30, 'bytes', 16],
  s_nr_users: [0x40, 'be32'],
  s_dynsuper: [0x44, 'be32'],
  s_max_transaction: [0x48, 'be32'],
  s_max_trans_data: [0x4c, 'be32'],
  s_checksum_type: [0x50, 'u8'],
  s_num_fc_blks: [0x54, 'be32'],
  s_head: [0x58, 'be32'],
  s_checksum: [0xfc, 'be32'],
  s_users: [0x100, 'bytes', 16 * 48],
});
/** JBD2_MAGIC_NUMBER, and h_blocktype JBD2_SUPERBLOCK_V2 */
export const JBD2_MAGIC_NUMBER = 0xc03b3998;
export const JBD2_SUPERBLOCK_V2 = 4;
