// SquashFS 4.0 on-disk structures, declared as data (every field little-endian).
// Names are squashfs-tools-ng's (include/sqfs/super.h, inode.h, dir.h, xattr.h, block.h;
// lib/sqfs/src/comp/{gzip,zstd,lz4}.c for the compressor options); the kernel's
// fs/squashfs/squashfs_fs.h declares the same layouts (struct squashfs_super_block,
// squashfs_base_inode, squashfs_{dir,ldir,reg,lreg,symlink,dev,ldev,ipc,lipc}_inode,
// squashfs_dir_header, squashfs_dir_entry, squashfs_dir_index, squashfs_fragment_entry,
// squashfs_xattr_entry, squashfs_xattr_val, squashfs_xattr_id, squashfs_xattr_id_table).
// squashfs-tools-ng doc/format.adoc describes each one in prose.
//
// Structures followed by a variable part (a file inode's block sizes, a symlink's target,
// a directory entry's or index's name, an xattr key or value) are declared without it,
// as both headers do; the writer appends the variable part right after the record.
import { defineStruct, type Fields, type Record_, type Struct } from '../struct.js';

/** super.h SQFS_MAGIC ("hsqs"), SQFS_VERSION_MAJOR/MINOR */
export const SQFS_MAGIC = 0x73717368;
export const SQFS_VERSION_MAJOR = 4;
export const SQFS_VERSION_MINOR = 0;

/** super.h SQFS_SUPER_FLAGS (squashfs_fs.h SQUASHFS_*): informational except COMPRESSOR_OPTIONS. */
export const SUPER_FLAGS = {
  ALWAYS_FRAGMENTS: 0x0020,
  // squashfs_fs.h SQUASHFS_DUPLICATE (bit 6: duplicates were looked for); squashfs-tools-ng
  // calls the same bit SQFS_FLAG_NO_DUPLICATES
  DUPLICATES: 0x0040,
  EXPORTABLE: 0x0080,
  COMPRESSOR_OPTIONS: 0x0400,
} as const;

/** An absent optional table's position (super.h: "0xFFFFFFFFFFFFFFFF if not present"). */
export const NO_TABLE = 2n ** 64n - 1n;

/** super.h struct sqfs_super_t (squashfs_fs.h struct squashfs_super_block) */
export const SUPER = defineStruct('sqfs_super', 96, {
  magic: [0, 'le32'],
  inode_count: [4, 'le32'],
  modification_time: [8, 'le32'],
  block_size: [12, 'le32'],
  fragment_entry_count: [16, 'le32'],
  compression_id: [20, 'le16'], // SQFS_COMPRESSOR
  block_log: [22, 'le16'],
  flags: [24, 'le16'], // SUPER_FLAGS
  id_count: [26, 'le16'],
  version_major: [28, 'le16'],
  version_minor: [30, 'le16'],
  root_inode_ref: [32, 'le64'],
  bytes_used: [40, 'le64'],
  id_table_start: [48, 'le64'],
  xattr_id_table_start: [56, 'le64'],
  inode_table_start: [64, 'le64'],
  directory_table_start: [72, 'le64'],
  fragment_table_start: [80, 'le64'],
  export_table_start: [88, 'le64'],
});

/** super.h SQFS_COMPRESSOR ids */
export const SQFS_COMP = { gzip: 1, lz4: 5, zstd: 6 } as const;

// Compressor options: the payload of one raw metadata block right after the superblock
// (super.h SQFS_FLAG_COMPRESSOR_OPTIONS).
/** gzip.c gzip_options_t: level, window size, strategies (SQFS_COMP_FLAG_GZIP_*) */
export const GZIP_OPTIONS = defineStruct('gzip_options', 8, {
  level: [0, 'le32'],
  window: [4, 'le16'],
  strategies: [6, 'le16'],
});
/** zstd.c zstd_options_t */
export const ZSTD_OPTIONS = defineStruct('zstd_options', 4, { level: [0, 'le32'] });
/** lz4.c lz4_options: version (LZ4LEGACY = 1, the one the kernel reads), flags (1 = HC) */
export const LZ4_OPTIONS = defineStruct('lz4_options', 8, { version: [0, 'le32'], flags: [4, 'le32'] });
export const LZ4LEGACY = 1;

// Metadata blocks (block.h, meta_writer.h; squashfs_fs.h SQUASHFS_METADATA_SIZE,
// SQUASHFS_COMPRESSED_BIT): a u16 header, then at most 8 KiB of payload.
/** block.h SQFS_META_BLOCK_SIZE */
export const SQFS_META_BLOCK_SIZE = 8192;
/** the header's low 15 bits are the stored size; this bit set = stored uncompressed */
export const META_UNCOMPRESSED = 0x8000;
export const META_HEADER = defineStruct('sqfs_meta_header', 2, { size: [0, 'le16'] });

// A reference into a metadata stream (an inode, a key/value pair): the position of its
// block's header relative to the table start, shifted left 16, plus the offset inside the
// uncompressed block (squashfs_fs.h SQUASHFS_MKINODE, SQUASHFS_INODE_BLK, SQUASHFS_INODE_OFFSET).
// Arithmetic, not bit operators: the block position can pass 2^16.
const REF_SHIFT = 65536;
export function metaRef(block: number, offset: number): number {
  return block * REF_SHIFT + offset;
}
export function refBlock(ref: number): number {
  return Math.floor(ref / REF_SHIFT);
}
export function refOffset(ref: number): number {
  return ref % REF_SHIFT;
}

// Data blocks (block.h SQFS_IS_BLOCK_COMPRESSED, SQFS_IS_SPARSE_BLOCK): a stored block
// size is a u32; bit 24 set = stored uncompressed, 0 = a sparse block of zeros.
export const BLOCK_UNCOMPRESSED = 1 << 24;
/** inode.h block_sizes[]: one stored block size (BLOCK_UNCOMPRESSED flag, 0 = sparse) */
export const BLOCK_SIZE = defineStruct('sqfs_block_size', 4, { size: [0, 'le32'] });
/** inode.h: a file without a fragment has fragment index 0xFFFFFFFF */
export const NO_FRAGMENT = 0xffffffff;
/** inode.h: the xattr index of an inode without xattrs */
export const NO_XATTR = 0xffffffff;

/** block.h struct sqfs_fragment_t (squashfs_fs.h struct squashfs_fragment_entry) */
export const FRAGMENT = defineStruct('sqfs_fragment', 16, {
  start_offset: [0, 'le64'],
  size: [8, 'le32'], // BLOCK_UNCOMPRESSED flag
  pad0: [12, 'le32'],
});

// Lookup tables (table.h; format.adoc "Storing Lookup Tables"): entries in metadata
// blocks, then the u64 absolute position of each of those blocks.
/** table.h: the position of one metadata block of a lookup table */
export const TABLE_LOCATION = defineStruct('sqfs_table_location', 8, { start: [0, 'le64'] });
/** id_table.h: one uid or gid */
export const ID_ENTRY = defineStruct('sqfs_id', 4, { id: [0, 'le32'] });
/** format.adoc "Export Table": an inode reference, by inode number − 1 */
export const EXPORT_ENTRY = defineStruct('sqfs_export_entry', 8, { inode_ref: [0, 'le64'] });

/** inode.h E_SQFS_INODE_TYPE: the basic types; each extended type is basic + 7 */
export const SQFS_INODE = { dir: 1, file: 2, symlink: 3, block: 4, char: 5, fifo: 6, socket: 7 } as const;
export const EXT_INODE_OFFSET = 7;

/** inode.h struct sqfs_inode_t (squashfs_fs.h struct squashfs_base_inode): every inode starts with it */
export const INODE = defineStruct('sqfs_inode', 16, {
  type: [0, 'le16'],
  mode: [2, 'le16'], // permission bits only
  uid_idx: [4, 'le16'], // into the id table
  gid_idx: [6, 'le16'],
  mod_time: [8, 'le32'],
  inode_number: [12, 'le32'],
});

/** inode.h struct sqfs_inode_dir_t (squashfs_dir_inode) */
export const INODE_DIR = defineStruct('sqfs_inode_dir', 16, {
  start_block: [0, 'le32'],
  nlink: [4, 'le32'],
  size: [8, 'le16'], // listing bytes + 3
  offset: [10, 'le16'],
  parent_inode: [12, 'le32'],
});
/** a directory inode's size is its listing's bytes + 3: the kernel counts "." and ".." as 3 bytes (dir.c) */
export const DIR_SIZE_DOTS = 3;
/** the largest listing size a basic directory inode holds (its size is a u16) */
export const INODE_DIR_SIZE_MAX = 0xffff;

/** inode.h struct sqfs_inode_dir_ext_t (squashfs_ldir_inode); `inodex_count` sqfs_dir_index_t follow */
export const INODE_DIR_EXT = defineStruct('sqfs_inode_dir_ext', 24, {
  nlink: [0, 'le32'],
  size: [4, 'le32'],
  start_block: [8, 'le32'],
  parent_inode: [12, 'le32'],
  inodex_count: [16, 'le16'],
  offset: [18, 'le16'],
  xattr_idx: [20, 'le32'],
});

/** inode.h struct sqfs_inode_file_t (squashfs_reg_inode); u32 block_sizes[] follow */
export const INODE_FILE = defineStruct('sqfs_inode_file', 16, {
  blocks_start: [0, 'le32'],
  fragment_index: [4, 'le32'],
  fragment_offset: [8, 'le32'],
  file_size: [12, 'le32'],
});
/** a basic file inode's blocks_start and file_size are u32s: below this */
export const INODE_FILE_LIMIT = 2 ** 32;

/** inode.h struct sqfs_inode_file_ext_t (squashfs_lreg_inode); u32 block_sizes[] follow */
export const INODE_FILE_EXT = defineStruct('sqfs_inode_file_ext', 40, {
  blocks_start: [0, 'le64'],
  file_size: [8, 'le64'],
  sparse: [16, 'le64'],
  nlink: [24, 'le32'],
  fragment_idx: [28, 'le32'],
  fragment_offset: [32, 'le32'],
  xattr_idx: [36, 'le32'],
});

/** inode.h struct sqfs_inode_slink_t (squashfs_symlink_inode); the target follows */
export const INODE_SLINK = defineStruct('sqfs_inode_slink', 8, {
  nlink: [0, 'le32'],
  target_size: [4, 'le32'],
});

/** inode.h struct sqfs_inode_slink_ext_t: its xattr index comes after the target */
export const INODE_SLINK_EXT_TAIL = defineStruct('sqfs_inode_slink_ext.xattr', 4, { xattr_idx: [0, 'le32'] });

/** inode.h struct sqfs_inode_dev_t (squashfs_dev_inode) */
export const INODE_DEV = defineStruct('sqfs_inode_dev', 8, { nlink: [0, 'le32'], devno: [4, 'le32'] });
/** inode.h struct sqfs_inode_dev_ext_t (squashfs_ldev_inode) */
export const INODE_DEV_EXT = defineStruct('sqfs_inode_dev_ext', 12, {
  nlink: [0, 'le32'],
  devno: [4, 'le32'],
  xattr_idx: [8, 'le32'],
});

/** inode.h struct sqfs_inode_ipc_t (squashfs_ipc_inode): fifos and sockets */
export const INODE_IPC = defineStruct('sqfs_inode_ipc', 4, { nlink: [0, 'le32'] });
/** inode.h struct sqfs_inode_ipc_ext_t (squashfs_lipc_inode) */
export const INODE_IPC_EXT = defineStruct('sqfs_inode_ipc_ext', 8, { nlink: [0, 'le32'], xattr_idx: [4, 'le32'] });

/** dir.h struct sqfs_dir_header_t (squashfs_dir_header): `count` + 1 entries follow */
export const DIR_HEADER = defineStruct('sqfs_dir_header', 12, {
  count: [0, 'le32'],
  start_block: [4, 'le32'],
  inode_number: [8, 'le32'],
});
/** dir.h: at most 256 entries under one header */
export const DIR_MAX_RUN = 256;

/**
 * dir.h struct sqfs_dir_node_t (squashfs_dir_entry); the name (`size` + 1 bytes) follows.
 * inode_diff is an s16 (encode it with s16()).
 */
export const DIR_NODE = defineStruct('sqfs_dir_node', 8, {
  offset: [0, 'le16'],
  inode_diff: [2, 'le16'],
  type: [4, 'le16'], // the basic type
  size: [6, 'le16'], // name length − 1
});
export const INODE_DIFF_MIN = -32768;
export const INODE_DIFF_MAX = 32767;

/** dir.h struct sqfs_dir_index_t (squashfs_dir_index); the name (`size` + 1 bytes) follows */
export const DIR_INDEX = defineStruct('sqfs_dir_index', 12, {
  index: [0, 'le32'], // offset from the listing start
  start_block: [4, 'le32'],
  size: [8, 'le32'],
});

/** xattr.h SQFS_XATTR_TYPE: the name prefixes squashfs can store, by type id */
export const XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];

/** xattr.h struct sqfs_xattr_entry_t (squashfs_xattr_entry); the key without its prefix follows */
export const XATTR_ENTRY = defineStruct('sqfs_xattr_entry', 4, { type: [0, 'le16'], size: [2, 'le16'] });
/** xattr.h struct sqfs_xattr_value_t (squashfs_xattr_val); the value follows */
export const XATTR_VALUE = defineStruct('sqfs_xattr_value', 4, { size: [0, 'le32'] });
/** xattr.h struct sqfs_xattr_id_t (squashfs_xattr_id) */
export const XATTR_ID = defineStruct('sqfs_xattr_id', 16, {
  xattr: [0, 'le64'], // reference of the first key/value pair
  count: [8, 'le32'],
  size: [12, 'le32'],
});
/** xattr.h struct sqfs_xattr_id_table_t (squashfs_xattr_id_table); u64 locations[] follow */
export const XATTR_ID_TABLE = defineStruct('sqfs_xattr_id_table', 16, {
  xattr_table_start: [0, 'le64'],
  xattr_ids: [8, 'le32'],
  unused: [12, 'le32'],
});

/** A directory entry's signed inode_diff as its u16 two's-complement bits. */
export function s16(n: number): number {
  if (!Number.isInteger(n) || n < INODE_DIFF_MIN || n > INODE_DIFF_MAX)
    throw new RangeError(`sqfs_dir_node.inode_diff: ${n} is outside ±32767`);
  return n & 0xffff;
}

/** Records of one structure, one after another (fragment table, xattr id table). */
export function encodeRecords<L extends Fields>(s: Struct<L>, values: readonly Record_<L>[]): Buffer {
  const buf = Buffer.alloc(s.size * values.length);
  values.forEach((v, i) => s.encode(v, buf, s.size * i));
  return buf;
}

/** Records of a one-field structure, one after another (id table, block sizes, locations). */
export function encodeArray<L extends Fields>(
  s: Struct<L>,
  field: keyof L & string,
  values: ArrayLike<number>,
): Buffer {
  const buf = Buffer.alloc(s.size * values.length);
  const [at, type] = s.fields[field]!;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // a le64 that is a safe whole number: its two le32 halves (no BigInt per entry; the export table has one per inode)
    if (type === 'le64' && Number.isSafeInteger(v) && v >= 0) {
      buf.writeUInt32LE(v % 2 ** 32, s.size * i + at);
      buf.writeUInt32LE(Math.floor(v / 2 ** 32), s.size * i + at + 4);
    } else s.encode({ [field]: v } as Record_<L>, buf, s.size * i);
  }
  return buf;
}
