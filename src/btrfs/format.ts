// btrfs on-disk structures, declared as data. Sources: the kernel's
// include/uapi/linux/btrfs_tree.h (item keys, item structures, flags), fs/btrfs/ctree.h
// of Linux 6.1 (struct btrfs_super_block, btrfs_header, btrfs_item, btrfs_key_ptr),
// and the "On-disk format" chapter of btrfs.readthedocs.io. Everything is little-endian.
import { defineStruct } from '../struct.js';

/** Sizes (btrfs-progs mkfs defaults: 4 KiB sectors, 16 KiB nodes; BTRFS_STRIPE_LEN 64 KiB). */
export const SECTOR = 4096;
export const NODE = 16384;
export const STRIPE_LEN = 65536;
/** The primary superblock sits at 64 KiB, its mirrors at 64 MiB and 256 GiB (btrfs_sb_offset). */
export const SUPER_OFFSETS = [0x10000, 64 << 20, 256 * 2 ** 30];
export const SUPER_SIZE = 4096;
export const MAGIC = Buffer.from('_BHRfS_M');
export const CSUM_TYPE_CRC32C = 0;

/** Tree and object ids (btrfs_tree.h, BTRFS_*_OBJECTID). */
export const OBJ = {
  ROOT_TREE: 1n,
  EXTENT_TREE: 2n,
  CHUNK_TREE: 3n,
  DEV_TREE: 4n,
  FS_TREE: 5n,
  ROOT_TREE_DIR: 6n,
  CSUM_TREE: 7n,
  UUID_TREE: 9n,
  FREE_SPACE_TREE: 10n,
  DEV_ITEMS: 1n,
  FIRST_CHUNK_TREE: 256n,
  FIRST_FREE: 256n,
  /** (u64)-9 and (u64)-10 */
  DATA_RELOC_TREE: 2n ** 64n - 9n,
  EXTENT_CSUM: 2n ** 64n - 10n,
} as const;

/** Item key types (btrfs_tree.h, BTRFS_*_KEY). */
export const KEY = {
  INODE_ITEM: 1,
  INODE_REF: 12,
  XATTR_ITEM: 24,
  DIR_ITEM: 84,
  DIR_INDEX: 96,
  EXTENT_DATA: 108,
  EXTENT_CSUM: 128,
  ROOT_ITEM: 132,
  EXTENT_ITEM: 168,
  METADATA_ITEM: 169,
  TREE_BLOCK_REF: 176,
  EXTENT_DATA_REF: 178,
  BLOCK_GROUP_ITEM: 192,
  FREE_SPACE_INFO: 198,
  FREE_SPACE_EXTENT: 199,
  DEV_EXTENT: 204,
  DEV_ITEM: 216,
  CHUNK_ITEM: 228,
  UUID_KEY_SUBVOL: 251,
} as const;

/** Block group / chunk type bits (BTRFS_BLOCK_GROUP_*); single profile = no profile bit, DUP = two copies on one device. */
export const BG = { DATA: 1n, SYSTEM: 2n, METADATA: 4n, DUP: 1n << 5n } as const;

/** Feature flags mkfs.btrfs 6.2 sets by default (btrfs_tree.h / ctree.h BTRFS_FEATURE_*). */
export const INCOMPAT = {
  MIXED_BACKREF: 1n << 0n,
  EXTENDED_IREF: 1n << 6n,
  SKINNY_METADATA: 1n << 8n,
  NO_HOLES: 1n << 9n,
} as const;
export const COMPAT_RO = { FREE_SPACE_TREE: 1n, FREE_SPACE_TREE_VALID: 2n } as const;

/** Header flags: BTRFS_HEADER_FLAG_WRITTEN, and the backref revision in the top byte (MIXED = 1). */
export const HEADER_FLAG_WRITTEN = 1n;
export const MIXED_BACKREF_REV = 1n << 56n;
/** Super flag: the same WRITTEN bit mkfs leaves set. */
export const SUPER_FLAG_WRITTEN = 1n;

/** Extent item flags (BTRFS_EXTENT_FLAG_*). */
export const EXTENT_FLAG = { DATA: 1n, TREE_BLOCK: 2n } as const;

/** Directory entry types (BTRFS_FT_*). */
export const FT = { REG_FILE: 1, DIR: 2, CHRDEV: 3, BLKDEV: 4, FIFO: 5, SOCK: 6, SYMLINK: 7, XATTR: 8 } as const;

/** File extent types (BTRFS_FILE_EXTENT_*). */
export const FILE_EXTENT = { INLINE: 0, REG: 1 } as const;

/** struct btrfs_disk_key: objectid, type, offset. */
export const diskKey = defineStruct('btrfs_disk_key', 17, {
  objectid: [0, 'le64'],
  type: [8, 'u8'],
  offset: [9, 'le64'],
});

/** struct btrfs_header: at the start of every tree block. */
export const header = defineStruct('btrfs_header', 101, {
  csum: [0, 'bytes', 32],
  fsid: [32, 'bytes', 16],
  bytenr: [48, 'le64'],
  flags: [56, 'le64'],
  chunkTreeUuid: [64, 'bytes', 16],
  generation: [80, 'le64'],
  owner: [88, 'le64'],
  nritems: [96, 'le32'],
  level: [100, 'u8'],
});

/** struct btrfs_item: a leaf's item header; offset counts from the end of the block header. */
export const item = defineStruct('btrfs_item', 25, {
  objectid: [0, 'le64'],
  type: [8, 'u8'],
  offset: [9, 'le64'],
  dataOffset: [17, 'le32'],
  dataSize: [21, 'le32'],
});

/** struct btrfs_key_ptr: a node's child pointer. */
export const keyPtr = defineStruct('btrfs_key_ptr', 33, {
  objectid: [0, 'le64'],
  type: [8, 'u8'],
  offset: [9, 'le64'],
  blockptr: [17, 'le64'],
  generation: [25, 'le64'],
});

/** struct btrfs_dev_item: in the superblock and as DEV_ITEM in the chunk tree. */
export const devItem = defineStruct('btrfs_dev_item', 98, {
  devid: [0, 'le64'],
  totalBytes: [8, 'le64'],
  bytesUsed: [16, 'le64'],
  ioAlign: [24, 'le32'],
  ioWidth: [28, 'le32'],
  sectorSize: [32, 'le32'],
  type: [36, 'le64'],
  generation: [44, 'le64'],
  startOffset: [52, 'le64'],
  devGroup: [60, 'le32'],
  seekSpeed: [64, 'u8'],
  bandwidth: [65, 'u8'],
  uuid: [66, 'bytes', 16],
  fsid: [82, 'bytes', 16],
});

/** struct btrfs_root_backup: the superblock's four backup root slots. */
export const rootBackup = defineStruct('btrfs_root_backup', 168, {
  treeRoot: [0, 'le64'],
  treeRootGen: [8, 'le64'],
  chunkRoot: [16, 'le64'],
  chunkRootGen: [24, 'le64'],
  extentRoot: [32, 'le64'],
  extentRootGen: [40, 'le64'],
  fsRoot: [48, 'le64'],
  fsRootGen: [56, 'le64'],
  devRoot: [64, 'le64'],
  devRootGen: [72, 'le64'],
  csumRoot: [80, 'le64'],
  csumRootGen: [88, 'le64'],
  totalBytes: [96, 'le64'],
  bytesUsed: [104, 'le64'],
  numDevices: [112, 'le64'],
  treeRootLevel: [152, 'u8'],
  chunkRootLevel: [153, 'u8'],
  extentRootLevel: [154, 'u8'],
  fsRootLevel: [155, 'u8'],
  devRootLevel: [156, 'u8'],
  csumRootLevel: [157, 'u8'],
});

/** struct btrfs_super_block (4096 bytes; csum over bytes 32..4095). */
export const superBlock = defineStruct('btrfs_super_block', SUPER_SIZE, {
  csum: [0, 'bytes', 32],
  fsid: [32, 'bytes', 16],
  bytenr: [48, 'le64'],
  flags: [56, 'le64'],
  magic: [64, 'bytes', 8],
  generation: [72, 'le64'],
  root: [80, 'le64'],
  chunkRoot: [88, 'le64'],
  logRoot: [96, 'le64'],
  logRootTransid: [104, 'le64'],
  totalBytes: [112, 'le64'],
  bytesUsed: [120, 'le64'],
  rootDirObjectid: [128, 'le64'],
  numDevices: [136, 'le64'],
  sectorsize: [144, 'le32'],
  nodesize: [148, 'le32'],
  leafsize: [152, 'le32'],
  stripesize: [156, 'le32'],
  sysChunkArraySize: [160, 'le32'],
  chunkRootGeneration: [164, 'le64'],
  compatFlags: [172, 'le64'],
  compatRoFlags: [180, 'le64'],
  incompatFlags: [188, 'le64'],
  csumType: [196, 'le16'],
  rootLevel: [198, 'u8'],
  chunkRootLevel: [199, 'u8'],
  logRootLevel: [200, 'u8'],
  devItem: [201, 'bytes', 98],
  label: [299, 'bytes', 256],
  cacheGeneration: [555, 'le64'],
  uuidTreeGeneration: [563, 'le64'],
  metadataUuid: [571, 'bytes', 16],
  sysChunkArray: [811, 'bytes', 2048],
  superRoots: [2859, 'bytes', 4 * 168],
});

/** struct btrfs_chunk without its stripes (num_stripes btrfs_stripe follow it). */
export const chunk = defineStruct('btrfs_chunk', 48, {
  length: [0, 'le64'],
  owner: [8, 'le64'],
  stripeLen: [16, 'le64'],
  type: [24, 'le64'],
  ioAlign: [32, 'le32'],
  ioWidth: [36, 'le32'],
  sectorSize: [40, 'le32'],
  numStripes: [44, 'le16'],
  subStripes: [46, 'le16'],
});

/** struct btrfs_stripe. */
export const stripe = defineStruct('btrfs_stripe', 32, {
  devid: [0, 'le64'],
  offset: [8, 'le64'],
  devUuid: [16, 'bytes', 16],
});

/** struct btrfs_dev_extent: DEV_EXTENT in the device tree. */
export const devExtent = defineStruct('btrfs_dev_extent', 48, {
  chunkTree: [0, 'le64'],
  chunkObjectid: [8, 'le64'],
  chunkOffset: [16, 'le64'],
  length: [24, 'le64'],
  chunkTreeUuid: [32, 'bytes', 16],
});

/** struct btrfs_timespec is 12 bytes: sec le64, nsec le32; four of them end the inode item. */
export const inodeItem = defineStruct('btrfs_inode_item', 160, {
  generation: [0, 'le64'],
  transid: [8, 'le64'],
  size: [16, 'le64'],
  nbytes: [24, 'le64'],
  blockGroup: [32, 'le64'],
  nlink: [40, 'le32'],
  uid: [44, 'le32'],
  gid: [48, 'le32'],
  mode: [52, 'le32'],
  rdev: [56, 'le64'],
  flags: [64, 'le64'],
  sequence: [72, 'le64'],
  atimeSec: [112, 'le64'],
  atimeNsec: [120, 'le32'],
  ctimeSec: [124, 'le64'],
  ctimeNsec: [132, 'le32'],
  mtimeSec: [136, 'le64'],
  mtimeNsec: [144, 'le32'],
  otimeSec: [148, 'le64'],
  otimeNsec: [156, 'le32'],
});

/** struct btrfs_root_item: an inode item, then the root's own fields. */
export const rootItem = defineStruct('btrfs_root_item', 439, {
  inode: [0, 'bytes', 160],
  generation: [160, 'le64'],
  rootDirid: [168, 'le64'],
  bytenr: [176, 'le64'],
  byteLimit: [184, 'le64'],
  bytesUsed: [192, 'le64'],
  lastSnapshot: [200, 'le64'],
  flags: [208, 'le64'],
  refs: [216, 'le32'],
  dropProgress: [220, 'bytes', 17],
  dropLevel: [237, 'u8'],
  level: [238, 'u8'],
  generationV2: [239, 'le64'],
  uuid: [247, 'bytes', 16],
  parentUuid: [263, 'bytes', 16],
  receivedUuid: [279, 'bytes', 16],
  ctransid: [295, 'le64'],
  otransid: [303, 'le64'],
  stransid: [311, 'le64'],
  rtransid: [319, 'le64'],
  ctimeSec: [327, 'le64'],
  ctimeNsec: [335, 'le32'],
  otimeSec: [339, 'le64'],
  otimeNsec: [347, 'le32'],
});

/** struct btrfs_inode_ref: index, name length, then the name. */
export const inodeRef = defineStruct('btrfs_inode_ref', 10, {
  index: [0, 'le64'],
  nameLen: [8, 'le16'],
});

/** struct btrfs_dir_item: location key, transid, data length, name length, type; then name and data. */
export const dirItem = defineStruct('btrfs_dir_item', 30, {
  locationObjectid: [0, 'le64'],
  locationType: [8, 'u8'],
  locationOffset: [9, 'le64'],
  transid: [17, 'le64'],
  dataLen: [25, 'le16'],
  nameLen: [27, 'le16'],
  type: [29, 'u8'],
});

/** struct btrfs_file_extent_item up to its type; inline data follows here. */
export const fileExtentHead = defineStruct('btrfs_file_extent_item (head)', 21, {
  generation: [0, 'le64'],
  ramBytes: [8, 'le64'],
  compression: [16, 'u8'],
  encryption: [17, 'u8'],
  otherEncoding: [18, 'le16'],
  type: [20, 'u8'],
});

/** struct btrfs_file_extent_item for a regular extent. */
export const fileExtentReg = defineStruct('btrfs_file_extent_item', 53, {
  generation: [0, 'le64'],
  ramBytes: [8, 'le64'],
  compression: [16, 'u8'],
  encryption: [17, 'u8'],
  otherEncoding: [18, 'le16'],
  type: [20, 'u8'],
  diskBytenr: [21, 'le64'],
  diskNumBytes: [29, 'le64'],
  offset: [37, 'le64'],
  numBytes: [45, 'le64'],
});

/** struct btrfs_extent_item (refs, generation, flags); inline refs follow it. */
export const extentItem = defineStruct('btrfs_extent_item', 24, {
  refs: [0, 'le64'],
  generation: [8, 'le64'],
  flags: [16, 'le64'],
});

/** A TREE_BLOCK_REF inline ref: type, then the owning root (btrfs_extent_inline_ref.offset). */
export const treeBlockRef = defineStruct('btrfs_extent_inline_ref (tree block)', 9, {
  type: [0, 'u8'],
  root: [1, 'le64'],
});

/** An EXTENT_DATA_REF inline ref: type, then struct btrfs_extent_data_ref in place of the offset. */
export const dataRef = defineStruct('btrfs_extent_inline_ref (data)', 29, {
  type: [0, 'u8'],
  root: [1, 'le64'],
  objectid: [9, 'le64'],
  offset: [17, 'le64'],
  count: [25, 'le32'],
});

/** struct btrfs_block_group_item. */
export const blockGroupItem = defineStruct('btrfs_block_group_item', 24, {
  used: [0, 'le64'],
  chunkObjectid: [8, 'le64'],
  flags: [16, 'le64'],
});

/** struct btrfs_free_space_info. */
export const freeSpaceInfo = defineStruct('btrfs_free_space_info', 8, {
  extentCount: [0, 'le32'],
  flags: [4, 'le32'],
});
