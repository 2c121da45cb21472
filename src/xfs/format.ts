// XFS on-disk structures (v5: CRCs, self-describing metadata), declared as data.
// Sources: the kernel's fs/xfs/libxfs/xfs_format.h (superblock, AG headers, btree blocks,
// inodes), xfs_da_format.h (directories, attributes), xfs_log_format.h (log records);
// "XFS Algorithms & Data Structures" (the XFS book, 3rd ed.) chapters on each structure.
// All multi-byte fields are big-endian except the CRCs, which are stored little-endian
// (xfs_cksum.h: xfs_end_cksum returns ~crc as __le32).
import { defineStruct } from '../struct.js';

export const BLOCK = 4096;
export const BLOCK_LOG = 12;
export const SECTOR = 512;
export const INODE_SIZE = 512;
export const INODES_PER_BLOCK = BLOCK / INODE_SIZE;
/** xfs_format.h XFS_INODES_PER_CHUNK */
export const INODES_PER_CHUNK = 64;
export const CHUNK_BLOCKS = INODES_PER_CHUNK / INODES_PER_BLOCK;
export const NULLAGBLOCK = 0xffffffff;
export const NULLAGINO = 0xffffffff;
export const NULLFSBLOCK = 0xffffffffffffffffn;

/** xfs_format.h struct xfs_dsb: the superblock, in sector 0 of every AG. */
export const SUPER = defineStruct('xfs_dsb', 264, {
  magicnum: [0, 'be32'], // XFS_SB_MAGIC 'XFSB'
  blocksize: [4, 'be32'],
  dblocks: [8, 'be64'],
  rblocks: [16, 'be64'],
  rextents: [24, 'be64'],
  uuid: [32, 'bytes', 16],
  logstart: [48, 'be64'],
  rootino: [56, 'be64'],
  rbmino: [64, 'be64'],
  rsumino: [72, 'be64'],
  rextsize: [80, 'be32'],
  agblocks: [84, 'be32'],
  agcount: [88, 'be32'],
  rbmblocks: [92, 'be32'],
  logblocks: [96, 'be32'],
  versionnum: [100, 'be16'],
  sectsize: [102, 'be16'],
  inodesize: [104, 'be16'],
  inopblock: [106, 'be16'],
  fname: [108, 'bytes', 12],
  blocklog: [120, 'u8'],
  sectlog: [121, 'u8'],
  inodelog: [122, 'u8'],
  inopblog: [123, 'u8'],
  agblklog: [124, 'u8'],
  rextslog: [125, 'u8'],
  inprogress: [126, 'u8'],
  imax_pct: [127, 'u8'],
  icount: [128, 'be64'],
  ifree: [136, 'be64'],
  fdblocks: [144, 'be64'],
  frextents: [152, 'be64'],
  uquotino: [160, 'be64'],
  gquotino: [168, 'be64'],
  qflags: [176, 'be16'],
  flags: [178, 'u8'],
  shared_vn: [179, 'u8'],
  inoalignmt: [180, 'be32'],
  unit: [184, 'be32'],
  width: [188, 'be32'],
  dirblklog: [192, 'u8'],
  logsectlog: [193, 'u8'],
  logsectsize: [194, 'be16'],
  logsunit: [196, 'be32'],
  features2: [200, 'be32'],
  bad_features2: [204, 'be32'],
  features_compat: [208, 'be32'],
  features_ro_compat: [212, 'be32'],
  features_incompat: [216, 'be32'],
  features_log_incompat: [220, 'be32'],
  crc: [224, 'le32'],
  spino_align: [228, 'be32'],
  pquotino: [232, 'be64'],
  lsn: [240, 'be64'],
  meta_uuid: [248, 'bytes', 16],
});
export const SB_MAGIC = 0x58465342;
/** sb_versionnum as mkfs.xfs 6.1 writes it: XFS_SB_VERSION_5 | ATTRBIT | ALIGNBIT |
 *  LOGV2BIT | EXTFLGBIT | DIRV2BIT | MOREBITSBIT (xfs_format.h XFS_SB_VERSION_*) */
export const SB_VERSION = 0x5 | 0x20 | 0x80 | 0x400 | 0x1000 | 0x2000 | 0x8000;
/** XFS_SB_VERSION2_LAZYSBCOUNTBIT | ATTR2BIT | PROJID32BIT | CRCBIT */
export const SB_FEATURES2 = 0x2 | 0x8 | 0x80 | 0x100;
/** XFS_SB_FEAT_RO_COMPAT_FINOBT | REFLINK | INOBTCNT */
export const SB_RO_COMPAT = 0x1 | 0x4 | 0x8;
/** XFS_SB_FEAT_INCOMPAT_FTYPE | SPINODES | BIGTIME */
export const SB_INCOMPAT = 0x1 | 0x2 | 0x8;

/** xfs_format.h struct xfs_agf: free-space header, sector 1 of each AG. */
export const AGF = defineStruct('xfs_agf', 224, {
  magicnum: [0, 'be32'], // 'XAGF'
  versionnum: [4, 'be32'],
  seqno: [8, 'be32'],
  length: [12, 'be32'],
  bno_root: [16, 'be32'],
  cnt_root: [20, 'be32'],
  rmap_root: [24, 'be32'],
  bno_level: [28, 'be32'],
  cnt_level: [32, 'be32'],
  rmap_level: [36, 'be32'],
  flfirst: [40, 'be32'],
  fllast: [44, 'be32'],
  flcount: [48, 'be32'],
  freeblks: [52, 'be32'],
  longest: [56, 'be32'],
  btreeblks: [60, 'be32'],
  uuid: [64, 'bytes', 16],
  rmap_blocks: [80, 'be32'],
  refcount_blocks: [84, 'be32'],
  refcount_root: [88, 'be32'],
  refcount_level: [92, 'be32'],
  lsn: [208, 'be64'],
  crc: [216, 'le32'],
});
export const AGF_MAGIC = 0x58414746;

/** xfs_format.h struct xfs_agi: inode header, sector 2 of each AG. */
export const AGI = defineStruct('xfs_agi', 344, {
  magicnum: [0, 'be32'], // 'XAGI'
  versionnum: [4, 'be32'],
  seqno: [8, 'be32'],
  length: [12, 'be32'],
  count: [16, 'be32'],
  root: [20, 'be32'],
  level: [24, 'be32'],
  freecount: [28, 'be32'],
  newino: [32, 'be32'],
  dirino: [36, 'be32'],
  unlinked: [40, 'bytes', 256], // 64 × be32 bucket heads, all NULLAGINO
  uuid: [296, 'bytes', 16],
  crc: [312, 'le32'],
  lsn: [320, 'be64'],
  free_root: [328, 'be32'],
  free_level: [332, 'be32'],
  iblocks: [336, 'be32'],
  fblocks: [340, 'be32'],
});
export const AGI_MAGIC = 0x58414749;

/** xfs_format.h struct xfs_agfl: the free-list header, sector 3; then be32 block numbers. */
export const AGFL = defineStruct('xfs_agfl', 36, {
  magicnum: [0, 'be32'], // 'XAFL'
  seqno: [4, 'be32'],
  uuid: [8, 'bytes', 16],
  lsn: [24, 'be64'],
  crc: [32, 'le32'],
});
export const AGFL_MAGIC = 0x5841464c;
/** xfs_alloc_min_freelist with one-level btrees: (1+1) by block + (1+1) by count */
export const AGFL_FILL = 4;

/** xfs_format.h struct xfs_btree_block, short form with the v5 CRC fields (AG btrees). */
export const SBTREE = defineStruct('xfs_btree_block_shdr', 56, {
  magic: [0, 'be32'],
  level: [4, 'be16'],
  numrecs: [6, 'be16'],
  leftsib: [8, 'be32'],
  rightsib: [12, 'be32'],
  blkno: [16, 'be64'], // disk address in 512-byte units
  lsn: [24, 'be64'],
  uuid: [32, 'bytes', 16],
  owner: [48, 'be32'], // the AG number
  crc: [52, 'le32'],
});
/** The same, long form (bmbt blocks: 64-bit sibling pointers, the inode as owner). */
export const LBTREE = defineStruct('xfs_btree_block_lhdr', 72, {
  magic: [0, 'be32'],
  level: [4, 'be16'],
  numrecs: [6, 'be16'],
  leftsib: [8, 'be64'],
  rightsib: [16, 'be64'],
  blkno: [24, 'be64'],
  lsn: [32, 'be64'],
  uuid: [40, 'bytes', 16],
  owner: [56, 'be64'],
  crc: [64, 'le32'],
});
/** v5 btree magics (xfs_format.h XFS_*_CRC_MAGIC) */
export const MAGIC = {
  bno: 0x41423342, // 'AB3B'
  cnt: 0x41423343, // 'AB3C'
  ino: 0x49414233, // 'IAB3'
  fino: 0x46494233, // 'FIB3'
  refc: 0x52334643, // 'R3FC'
  bmap: 0x424d4133, // 'BMA3'
} as const;

/** xfs_format.h xfs_alloc_rec: a free extent (also the key of both free-space btrees). */
export const ALLOC_REC = defineStruct('xfs_alloc_rec', 8, {
  startblock: [0, 'be32'],
  blockcount: [4, 'be32'],
});
/** xfs_format.h xfs_inobt_rec, the sparse-inode layout (holemask, count, freecount). */
export const INOBT_REC = defineStruct('xfs_inobt_rec', 16, {
  startino: [0, 'be32'],
  holemask: [4, 'be16'],
  count: [6, 'u8'],
  freecount: [7, 'u8'],
  free: [8, 'be64'],
});

/** xfs_format.h struct xfs_dinode, version 3 core: 176 bytes, then the forks. */
export const DINODE = defineStruct('xfs_dinode', 176, {
  magic: [0, 'be16'], // 'IN'
  mode: [2, 'be16'],
  version: [4, 'u8'],
  format: [5, 'u8'],
  onlink: [6, 'be16'],
  uid: [8, 'be32'],
  gid: [12, 'be32'],
  nlink: [16, 'be32'],
  projid_lo: [20, 'be16'],
  projid_hi: [22, 'be16'],
  flushiter: [30, 'be16'],
  atime: [32, 'be64'],
  mtime: [40, 'be64'],
  ctime: [48, 'be64'],
  size: [56, 'be64'],
  nblocks: [64, 'be64'],
  extsize: [72, 'be32'],
  nextents: [76, 'be32'],
  anextents: [80, 'be16'],
  forkoff: [82, 'u8'], // attr fork offset in 8-byte units from the literal area
  aformat: [83, 'u8'],
  dmevmask: [84, 'be32'],
  dmstate: [88, 'be16'],
  flags: [90, 'be16'],
  gen: [92, 'be32'],
  next_unlinked: [96, 'be32'],
  crc: [100, 'le32'],
  changecount: [104, 'be64'],
  lsn: [112, 'be64'],
  flags2: [120, 'be64'],
  cowextsize: [128, 'be32'],
  crtime: [144, 'be64'],
  ino: [152, 'be64'],
  uuid: [160, 'bytes', 16],
});
export const DINODE_MAGIC = 0x494e;
/** the literal area after the v3 core: both forks share it */
export const LITERAL = INODE_SIZE - DINODE.size;
/** xfs_format.h enum xfs_dinode_fmt */
export const FMT = { dev: 0, local: 1, extents: 2, btree: 3 } as const;
/** XFS_DIFLAG_NEWRTBM (bit 2: the realtime bitmap inode), XFS_DIFLAG2_BIGTIME (bit 3) */
export const DIFLAG_NEWRTBM = 0x4;
export const DIFLAG2_BIGTIME = 0x8;
/** xfs_format.h XFS_BIGTIME_EPOCH_OFFSET: bigtime counts nanoseconds from 1901-12-13 */
export const BIGTIME_EPOCH_OFFSET = 2n ** 31n;

/** xfs_format.h struct xfs_bmdr_block: the bmbt root inside the inode. */
export const BMDR = defineStruct('xfs_bmdr_block', 4, {
  level: [0, 'be16'],
  numrecs: [2, 'be16'],
});

/** xfs_da_format.h struct xfs_dir3_blk_hdr + xfs_dir3_data_hdr: a v5 directory data block. */
export const DIR3_DATA_HDR = defineStruct('xfs_dir3_data_hdr', 64, {
  magic: [0, 'be32'],
  crc: [4, 'le32'],
  blkno: [8, 'be64'],
  lsn: [16, 'be64'],
  uuid: [24, 'bytes', 16],
  owner: [40, 'be64'],
  best0_offset: [48, 'be16'],
  best0_length: [50, 'be16'],
  best1_offset: [52, 'be16'],
  best1_length: [54, 'be16'],
  best2_offset: [56, 'be16'],
  best2_length: [58, 'be16'],
});
export const DIR3_BLOCK_MAGIC = 0x58444233; // 'XDB3': single-block directory
export const DIR3_DATA_MAGIC = 0x58444433; // 'XDD3': data block of a leaf/node directory
/** xfs_da_format.h struct xfs_dir2_block_tail, at the end of a block directory */
export const DIR2_BLOCK_TAIL = defineStruct('xfs_dir2_block_tail', 8, {
  count: [0, 'be32'],
  stale: [4, 'be32'],
});
/** xfs_da_format.h struct xfs_dir2_leaf_entry: hash and address (byte offset / 8) */
export const DIR2_LEAF_ENTRY = defineStruct('xfs_dir2_leaf_entry', 8, {
  hashval: [0, 'be32'],
  address: [4, 'be32'],
});
/** xfs_da_format.h struct xfs_da3_blkinfo: the header of every v5 dabtree block. */
export const DA3_BLKINFO = defineStruct('xfs_da3_blkinfo', 56, {
  forw: [0, 'be32'],
  back: [4, 'be32'],
  magic: [8, 'be16'],
  crc: [12, 'le32'],
  blkno: [16, 'be64'],
  lsn: [24, 'be64'],
  uuid: [32, 'bytes', 16],
  owner: [48, 'be64'],
});
/** xfs_da_format.h struct xfs_dir3_leaf_hdr (leaf1 and leafn blocks) */
export const DIR3_LEAF_HDR = defineStruct('xfs_dir3_leaf_hdr', 64, {
  info: [0, 'bytes', 56],
  count: [56, 'be16'],
  stale: [58, 'be16'],
});
export const DIR3_LEAF1_MAGIC = 0x3df1;
export const DIR3_LEAFN_MAGIC = 0x3dff;
export const DA3_NODE_MAGIC = 0x3ebe;
/** xfs_da_format.h struct xfs_da3_node_hdr: an interior dabtree block */
export const DA3_NODE_HDR = defineStruct('xfs_da3_node_hdr', 64, {
  info: [0, 'bytes', 56],
  count: [56, 'be16'],
  level: [58, 'be16'],
});
/** xfs_da_format.h struct xfs_da_node_entry */
export const DA_NODE_ENTRY = defineStruct('xfs_da_node_entry', 8, {
  hashval: [0, 'be32'],
  before: [4, 'be32'],
});
/** xfs_da_format.h struct xfs_dir3_free_hdr: a free-index block of a node directory */
export const DIR3_FREE_HDR = defineStruct('xfs_dir3_free_hdr', 64, {
  magic: [0, 'be32'], // 'XDF3'
  crc: [4, 'le32'],
  blkno: [8, 'be64'],
  lsn: [16, 'be64'],
  uuid: [24, 'bytes', 16],
  owner: [40, 'be64'],
  firstdb: [48, 'be32'],
  nvalid: [52, 'be32'],
  nused: [56, 'be32'],
});
export const DIR3_FREE_MAGIC = 0x58444633;
/** xfs_da_format.h: the leaf and free sections start at 32 GiB and 64 GiB of the directory */
export const DIR2_LEAF_OFFSET = 32 * 2 ** 30;
export const DIR2_FREE_OFFSET = 64 * 2 ** 30;

/** xfs_da_format.h struct xfs_dir2_sf_hdr with 4-byte inode numbers (i8count = 0) */
export const DIR2_SF_HDR = defineStruct('xfs_dir2_sf_hdr', 6, {
  count: [0, 'u8'],
  i8count: [1, 'u8'],
  parent: [2, 'be32'],
});

/** xfs_format.h struct xfs_dsymlink_hdr: the header of a remote symlink block */
export const DSYMLINK_HDR = defineStruct('xfs_dsymlink_hdr', 56, {
  magic: [0, 'be32'], // 'XSLM'
  offset: [4, 'be32'],
  bytes: [8, 'be32'],
  crc: [12, 'le32'],
  uuid: [16, 'bytes', 16],
  owner: [32, 'be64'],
  blkno: [40, 'be64'],
  lsn: [48, 'be64'],
});
export const SYMLINK_MAGIC = 0x58534c4d;

/** xfs_da_format.h struct xfs_attr_sf_hdr: short-form attributes in the inode */
export const ATTR_SF_HDR = defineStruct('xfs_attr_sf_hdr', 4, {
  totsize: [0, 'be16'],
  count: [2, 'u8'],
});
/** xfs_da_format.h struct xfs_attr_sf_entry, then name and value bytes */
export const ATTR_SF_ENTRY = defineStruct('xfs_attr_sf_entry', 3, {
  namelen: [0, 'u8'],
  valuelen: [1, 'u8'],
  flags: [2, 'u8'],
});
/** xfs_da_format.h struct xfs_attr3_leaf_hdr: an attribute leaf block */
export const ATTR3_LEAF_HDR = defineStruct('xfs_attr3_leaf_hdr', 80, {
  info: [0, 'bytes', 56],
  count: [56, 'be16'],
  usedbytes: [58, 'be16'],
  firstused: [60, 'be16'],
  holes: [62, 'u8'],
  free0_base: [64, 'be16'],
  free0_size: [66, 'be16'],
  free1_base: [68, 'be16'],
  free1_size: [70, 'be16'],
  free2_base: [72, 'be16'],
  free2_size: [74, 'be16'],
});
export const ATTR3_LEAF_MAGIC = 0x3bee;
/** xfs_da_format.h struct xfs_attr_leaf_entry */
export const ATTR_LEAF_ENTRY = defineStruct('xfs_attr_leaf_entry', 8, {
  hashval: [0, 'be32'],
  nameidx: [4, 'be16'],
  flags: [6, 'u8'],
});
/** xfs_da_format.h struct xfs_attr_leaf_name_local, then name and value */
export const ATTR_LEAF_LOCAL = defineStruct('xfs_attr_leaf_name_local', 3, {
  valuelen: [0, 'be16'],
  namelen: [2, 'u8'],
});
/** xfs_da_format.h struct xfs_attr_leaf_name_remote, then the name */
export const ATTR_LEAF_REMOTE = defineStruct('xfs_attr_leaf_name_remote', 9, {
  valueblk: [0, 'be32'], // the attribute fork block where the value starts
  valuelen: [4, 'be32'],
  namelen: [8, 'u8'],
});
/** xfs_format.h struct xfs_attr3_rmt_hdr: the header of each remote value block */
export const ATTR3_RMT_HDR = defineStruct('xfs_attr3_rmt_hdr', 56, {
  magic: [0, 'be32'], // 'XARM'
  offset: [4, 'be32'],
  bytes: [8, 'be32'],
  crc: [12, 'le32'],
  uuid: [16, 'bytes', 16],
  owner: [32, 'be64'],
  blkno: [40, 'be64'],
  lsn: [48, 'be64'],
});
export const ATTR3_RMT_MAGIC = 0x5841524d;
/** xfs_da_format.h XFS_ATTR_LOCAL, XFS_ATTR_ROOT (trusted), XFS_ATTR_SECURE (security) */
export const ATTR_FLAG = { local: 0x1, root: 0x2, secure: 0x4 } as const;

/** xfs_log_format.h struct xlog_rec_header (one basic block; cycle data for 32 KiB) */
export const LOG_REC_HDR = defineStruct('xlog_rec_header', 324, {
  magicno: [0, 'be32'],
  cycle: [4, 'be32'],
  version: [8, 'be32'],
  len: [12, 'be32'],
  lsn: [16, 'be64'],
  tail_lsn: [24, 'be64'],
  crc: [32, 'le32'],
  prev_block: [36, 'be32'],
  num_logops: [40, 'be32'],
  cycle_data0: [44, 'be32'], // h_cycle_data[0]: the first word of the data sector
  fmt: [300, 'be32'],
  fs_uuid: [304, 'bytes', 16],
  size: [320, 'be32'],
});
export const LOG_MAGIC = 0xfeedbabe;
/** xfs_log_format.h struct xlog_op_header */
export const LOG_OP_HDR = defineStruct('xlog_op_header', 12, {
  tid: [0, 'be32'],
  len: [4, 'be32'],
  clientid: [8, 'u8'],
  flags: [9, 'u8'],
});
