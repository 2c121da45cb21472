// Superblock, group descriptors and the journal superblock, filled by field name
// (format.ts).
// Superblock (at byte 1024, copies at the start of backup groups with s_block_group_nr
// set): as mke2fs writes it for this feature set; s_checksum = crc32c(~0, the bytes
// before it) (ext4_superblock_csum).
// Group descriptor: bitmaps, inode table, free counts, flags, bitmap checksums
// (crc32c(fs seed, bitmap), lo/hi halves), bg_checksum = crc32c(fs seed, le32 group,
// descriptor with bg_checksum zero) & 0xFFFF (Documentation/filesystems/ext4/group_descr.rst).
// JBD2 superblock (journal block 0): as mke2fs writes it (lib/ext2fs/mkjournal.c): v2,
// blocksize, maxlen, s_first = 1, s_sequence = 1, s_start = 0 (clean: nothing to
// replay), s_nr_users = 1, s_uuid = the filesystem's.
import { crc32c, crc32cU32 } from './crc32c.js';
import {
  BG_INODE_ZEROED,
  BLOCK,
  BLOCKS_PER_GROUP,
  CRC32C_CHKSUM,
  DEFM_XATTR_USER_ACL,
  DESC_SIZE,
  DX_HASH_HALF_MD4,
  EXT3_JNL_BACKUP_BLOCKS,
  EXT4_DYNAMIC_REV,
  EXT4_ERRORS_CONTINUE,
  EXT4_SUPER_MAGIC,
  EXT4_VALID_FS,
  EXTRA_ISIZE,
  FEATURES,
  FLAGS_UNSIGNED_HASH,
  GROUP_DESC,
  hi16,
  hi32,
  IBLOCK_SIZE,
  INODE_SIZE,
  JBD2_MAGIC_NUMBER,
  JBD2_SUPERBLOCK_V2,
  JOURNAL_SUPER,
  lo16,
  lo32,
  SUPER,
  SUPER_CSUM_END,
} from './format.js';
import type { Geometry } from './geometry.js';

/** The journal's inode number (EXT4_JOURNAL_INO) and the first one not reserved (EXT4_GOOD_OLD_FIRST_INO). */
export const JOURNAL_INO = 8;
export const FIRST_NONRESERVED_INO = 11;

export interface SuperFields {
  geo: Geometry;
  freeBlocks: number;
  freeInodes: number;
  uuid: Buffer;
  /** s_hash_seed as four words */
  hashSeed: Uint32Array;
  time: number;
  /** the journal inode's i_block and size, copied into s_jnl_blocks */
  journalIblock: Buffer;
  journalSize: number;
}

/** The superblock copy for `group` (0: the primary). */
export function encodeSuper(f: SuperFields, group: number): Buffer {
  const g = f.geo;
  const t = Math.max(0, Math.min(f.time, 2 ** 32 - 1));
  const iblock = Array.from({ length: IBLOCK_SIZE / 4 }, (_, k) => f.journalIblock.readUInt32LE(4 * k));
  const s = SUPER.encode({
    s_inodes_count: g.inodes,
    s_blocks_count_lo: lo32(g.blocks),
    s_blocks_count_hi: hi32(g.blocks),
    s_free_blocks_count_lo: lo32(f.freeBlocks),
    s_free_blocks_count_hi: hi32(f.freeBlocks),
    s_free_inodes_count: f.freeInodes,
    s_first_data_block: 0,
    s_log_block_size: Math.log2(BLOCK / 1024),
    s_log_cluster_size: Math.log2(BLOCK / 1024),
    s_blocks_per_group: BLOCKS_PER_GROUP,
    s_clusters_per_group: BLOCKS_PER_GROUP,
    s_inodes_per_group: g.inodesPerGroup,
    s_wtime: t,
    s_max_mnt_count: 0xffff, // -1: no forced checks
    s_magic: EXT4_SUPER_MAGIC,
    s_state: EXT4_VALID_FS,
    s_errors: EXT4_ERRORS_CONTINUE,
    s_lastcheck: t,
    s_rev_level: EXT4_DYNAMIC_REV,
    s_first_ino: FIRST_NONRESERVED_INO,
    s_inode_size: INODE_SIZE,
    s_block_group_nr: group,
    s_feature_compat: FEATURES.compat,
    s_feature_incompat: FEATURES.incompat,
    s_feature_ro_compat: FEATURES.roCompat,
    s_uuid: f.uuid,
    s_journal_inum: JOURNAL_INO,
    s_hash_seed: [...f.hashSeed],
    s_def_hash_version: DX_HASH_HALF_MD4,
    s_jnl_backup_type: EXT3_JNL_BACKUP_BLOCKS,
    s_desc_size: DESC_SIZE,
    s_default_mount_opts: DEFM_XATTR_USER_ACL,
    s_mkfs_time: t,
    s_jnl_blocks: [...iblock, hi32(f.journalSize), lo32(f.journalSize)],
    s_min_extra_isize: EXTRA_ISIZE,
    s_want_extra_isize: EXTRA_ISIZE,
    s_flags: FLAGS_UNSIGNED_HASH,
    s_log_groups_per_flex: 4, // 16 groups per flex group
    s_checksum_type: CRC32C_CHKSUM,
  });
  SUPER.encode({ s_checksum: crc32c(0xffffffff, s, 0, SUPER_CSUM_END) }, s);
  return s;
}

export interface GroupFields {
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
  freeBlocks: number;
  freeInodes: number;
  usedDirs: number;
  itableUnused: number;
  blockBitmapCsum: number;
  inodeBitmapCsum: number;
}

export function encodeGroupDesc(d: GroupFields, group: number, fsSeed: number): Buffer {
  const b = GROUP_DESC.encode({
    bg_block_bitmap_lo: lo32(d.blockBitmap),
    bg_block_bitmap_hi: hi32(d.blockBitmap),
    bg_inode_bitmap_lo: lo32(d.inodeBitmap),
    bg_inode_bitmap_hi: hi32(d.inodeBitmap),
    bg_inode_table_lo: lo32(d.inodeTable),
    bg_inode_table_hi: hi32(d.inodeTable),
    bg_free_blocks_count_lo: lo16(d.freeBlocks),
    bg_free_blocks_count_hi: hi16(d.freeBlocks),
    bg_free_inodes_count_lo: lo16(d.freeInodes),
    bg_free_inodes_count_hi: hi16(d.freeInodes),
    bg_used_dirs_count_lo: lo16(d.usedDirs),
    bg_used_dirs_count_hi: hi16(d.usedDirs),
    bg_flags: BG_INODE_ZEROED,
    bg_block_bitmap_csum_lo: lo16(d.blockBitmapCsum),
    bg_block_bitmap_csum_hi: hi16(d.blockBitmapCsum),
    bg_inode_bitmap_csum_lo: lo16(d.inodeBitmapCsum),
    bg_inode_bitmap_csum_hi: hi16(d.inodeBitmapCsum),
    bg_itable_unused_lo: lo16(d.itableUnused),
    bg_itable_unused_hi: hi16(d.itableUnused),
  });
  return GROUP_DESC.encode({ bg_checksum: crc32c(crc32cU32(fsSeed, group), b) & 0xffff }, b);
}

/** The journal's block 0; the rest of the journal stays zero. */
export function journalSuper(blocks: number, uuid: Buffer): Buffer {
  const j = Buffer.alloc(BLOCK);
  JOURNAL_SUPER.encode(
    {
      h_magic: JBD2_MAGIC_NUMBER,
      h_blocktype: JBD2_SUPERBLOCK_V2,
      s_blocksize: BLOCK,
      s_maxlen: blocks,
      s_first: 1,
      s_sequence: 1,
      s_uuid: uuid,
      s_nr_users: 1,
    },
    j,
  );
  return j;
}
