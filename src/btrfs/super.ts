// The superblock (ctree.h struct btrfs_super_block; btrfs.readthedocs.io "On-disk
// format": superblock) at 64 KiB and its mirrors at 64 MiB and 256 GiB when the device
// reaches past them (the kernel writes a copy only when it ends inside the device). The
// mirrors carry their own offset in bytenr; each copy is checksummed over bytes 32..4095.
// The features are mkfs.btrfs 6.2's defaults: mixed backrefs, extended inode refs,
// skinny metadata, no holes, and a valid free-space tree.
import type { ImageSink } from '../artifact.js';
import { rootLevel } from './btree.js';
import { csum } from './checksum.js';
import {
  COMPAT_RO,
  CSUM_TYPE_CRC32C,
  INCOMPAT,
  MAGIC,
  NODE,
  OBJ,
  rootBackup,
  SECTOR,
  SUPER_FLAG_WRITTEN,
  SUPER_OFFSETS,
  SUPER_SIZE,
  superBlock,
} from './format.js';
import type { Run } from './layout.js';
import { devItemBytes, type Ids, sysChunkArray } from './meta-items.js';
import type { Plan, PlannedTree } from './plan.js';

const root = (t: PlannedTree) => t.addrs[t.addrs.length - 1];

/** Backup slot 0: the roots of this (only) transaction, as the kernel records them. */
function backupRoots(plan: Plan, ids: Ids): Buffer {
  const t = (id: bigint) => plan.trees.find((x) => x.id === id)!;
  const g = ids.generation;
  const slot = rootBackup.encode({
    treeRoot: root(t(OBJ.ROOT_TREE)),
    treeRootGen: g,
    treeRootLevel: rootLevel(t(OBJ.ROOT_TREE).packed),
    chunkRoot: root(t(OBJ.CHUNK_TREE)),
    chunkRootGen: g,
    chunkRootLevel: rootLevel(t(OBJ.CHUNK_TREE).packed),
    extentRoot: root(t(OBJ.EXTENT_TREE)),
    extentRootGen: g,
    extentRootLevel: rootLevel(t(OBJ.EXTENT_TREE).packed),
    fsRoot: root(t(OBJ.FS_TREE)),
    fsRootGen: g,
    fsRootLevel: rootLevel(t(OBJ.FS_TREE).packed),
    devRoot: root(t(OBJ.DEV_TREE)),
    devRootGen: g,
    devRootLevel: rootLevel(t(OBJ.DEV_TREE).packed),
    csumRoot: root(t(OBJ.CSUM_TREE)),
    csumRootGen: g,
    csumRootLevel: rootLevel(t(OBJ.CSUM_TREE).packed),
    totalBytes: plan.devSize,
    bytesUsed: plan.bytesUsed,
    numDevices: 1,
  });
  return Buffer.concat([slot, Buffer.alloc(3 * rootBackup.size)]);
}

export function encodeSuper(plan: Plan, ids: Ids, bytenr: number): Buffer {
  const rootTree = plan.trees.find((t) => t.id === OBJ.ROOT_TREE)!;
  const chunkTree = plan.trees.find((t) => t.id === OBJ.CHUNK_TREE)!;
  const sys = sysChunkArray(plan.chunks, ids);
  const g = ids.generation;
  const b = superBlock.encode({
    fsid: ids.fsid,
    bytenr,
    flags: SUPER_FLAG_WRITTEN,
    magic: MAGIC,
    generation: g,
    root: root(rootTree),
    rootLevel: rootLevel(rootTree.packed),
    chunkRoot: root(chunkTree),
    chunkRootLevel: rootLevel(chunkTree.packed),
    chunkRootGeneration: g,
    totalBytes: plan.devSize,
    bytesUsed: plan.bytesUsed,
    rootDirObjectid: OBJ.ROOT_TREE_DIR,
    numDevices: 1,
    sectorsize: SECTOR,
    nodesize: NODE,
    leafsize: NODE,
    stripesize: SECTOR,
    sysChunkArraySize: sys.length,
    sysChunkArray: sys,
    compatRoFlags: COMPAT_RO.FREE_SPACE_TREE | COMPAT_RO.FREE_SPACE_TREE_VALID,
    incompatFlags: INCOMPAT.MIXED_BACKREF | INCOMPAT.EXTENDED_IREF | INCOMPAT.SKINNY_METADATA | INCOMPAT.NO_HOLES,
    csumType: CSUM_TYPE_CRC32C,
    devItem: devItemBytes(plan.devSize, plan.chunks, ids),
    uuidTreeGeneration: g,
    superRoots: backupRoots(plan, ids),
  });
  b.writeUInt32LE(csum(b, 32), 0);
  return b;
}

/** Writes the superblock copies the device has room for; returns where. */
export function writeSupers(out: ImageSink, plan: Plan, ids: Ids): Run[] {
  const at = SUPER_OFFSETS.filter((o) => o + SUPER_SIZE < plan.devSize);
  for (const o of at) out.writeAt(encodeSuper(plan, ids, o), o);
  return at.map((start) => ({ start, length: SUPER_SIZE }));
}
