// The items of every tree but the filesystem tree: chunk, device, root, extent,
// free-space, checksum, uuid and data-relocation trees — what mkfs.btrfs (btrfs-progs
// 6.2, mkfs/common.c make_btrfs and mkfs/main.c) puts in a fresh filesystem, with the
// filesystem tree's data and blocks accounted for. Sources: btrfs_tree.h for each item,
// btrfs.readthedocs.io "On-disk format" for the trees; the kernel's free-space-tree.c for
// FREE_SPACE_INFO/EXTENT; file-item.c (MAX_CSUM_ITEMS) for checksum item sizes.
import { S_IFDIR } from '../posix.js';
import type { Time } from '../tree/tree.js';
import { compareKeys, type Item, LEAF_DATA } from './btree.js';
import {
  BG,
  blockGroupItem,
  chunk,
  dataRef,
  devExtent,
  devItem,
  diskKey,
  dirItem,
  EXTENT_FLAG,
  extentItem,
  FT,
  freeSpaceInfo,
  inodeItem,
  inodeRef,
  KEY,
  NODE,
  OBJ,
  rootItem,
  SECTOR,
  STRIPE_LEN,
  stripe,
  treeBlockRef,
} from './format.js';
import { encodeInodeItem } from './fs-items.js';
import { nameHash } from './checksum.js';
import { freeRanges, type Run } from './layout.js';

export interface Ids {
  fsid: Buffer;
  devUuid: Buffer;
  chunkTreeUuid: Buffer;
  /** the filesystem tree's (subvolume 5's) uuid */
  fsTreeUuid: Buffer;
  generation: number;
}

export interface Chunk extends Run {
  type: bigint;
  /** device offset of each copy: the first is `start` itself */
  stripes: number[];
}

const item = (objectid: bigint, type: number, offset: bigint | number, data: Buffer): Item => ({
  objectid,
  type,
  offset: BigInt(offset),
  data,
});

/** A chunk item with a stripe on device 1 for each copy. */
export function chunkItem(c: Chunk, ids: Ids): Buffer {
  const head = chunk.encode({
    length: c.length,
    owner: OBJ.EXTENT_TREE,
    stripeLen: STRIPE_LEN,
    type: c.type,
    ioAlign: STRIPE_LEN,
    ioWidth: STRIPE_LEN,
    sectorSize: SECTOR,
    numStripes: c.stripes.length,
    subStripes: 1,
  });
  return Buffer.concat([head, ...c.stripes.map((offset) => stripe.encode({ devid: 1, offset, devUuid: ids.devUuid }))]);
}

export function devItemBytes(devSize: number, chunks: Chunk[], ids: Ids): Buffer {
  const used = chunks.reduce((n, c) => n + c.length * c.stripes.length, 0);
  return devItem.encode({
    devid: 1,
    totalBytes: devSize,
    bytesUsed: used,
    ioAlign: SECTOR,
    ioWidth: SECTOR,
    sectorSize: SECTOR,
    uuid: ids.devUuid,
    fsid: ids.fsid,
  });
}

/** The superblock's sys_chunk_array: key + chunk item of every SYSTEM chunk. */
export function sysChunkArray(chunks: Chunk[], ids: Ids): Buffer {
  const parts = chunks
    .filter((c) => (c.type & BG.SYSTEM) !== 0n)
    .flatMap((c) => [
      diskKey.encode({ objectid: OBJ.FIRST_CHUNK_TREE, type: KEY.CHUNK_ITEM, offset: c.start }),
      chunkItem(c, ids),
    ]);
  return Buffer.concat(parts);
}

export function chunkTreeItems(devSize: number, chunks: Chunk[], ids: Ids): Item[] {
  const sorted = [...chunks].sort((a, b) => a.start - b.start);
  return [
    item(OBJ.DEV_ITEMS, KEY.DEV_ITEM, 1, devItemBytes(devSize, chunks, ids)),
    ...sorted.map((c) => item(OBJ.FIRST_CHUNK_TREE, KEY.CHUNK_ITEM, c.start, chunkItem(c, ids))),
  ];
}

/** One DEV_EXTENT per copy of every chunk, in device order. */
export function devTreeItems(chunks: Chunk[], ids: Ids): Item[] {
  const extents = chunks.flatMap((c) => c.stripes.map((at) => ({ at, c })));
  return extents
    .sort((a, b) => a.at - b.at)
    .map(({ at, c }) =>
      item(
        1n,
        KEY.DEV_EXTENT,
        at,
        devExtent.encode({
          chunkTree: OBJ.CHUNK_TREE,
          chunkObjectid: OBJ.FIRST_CHUNK_TREE,
          chunkOffset: c.start,
          length: c.length,
          chunkTreeUuid: ids.chunkTreeUuid,
        }),
      ),
    );
}

/** The device offsets of every copy of the logical range at `bytenr`. */
export function copiesOf(chunks: Chunk[], bytenr: number): number[] {
  const c = chunks.find((c) => bytenr >= c.start && bytenr < c.start + c.length)!;
  return c.stripes.map((s) => s + (bytenr - c.start));
}

export interface RootInfo {
  id: bigint;
  bytenr: number;
  level: number;
  blocks: number;
}

/** The inode item every subvolume-like root carries (mkfs: generation 1, size 3, one link, 040755, no times). */
const ROOT_INODE = inodeItem.encode({ generation: 1, size: 3, nbytes: NODE, nlink: 1, mode: S_IFDIR | 0o755 });

function rootItemBytes(r: RootInfo, ids: Ids, time: Time): Buffer {
  const subvol = r.id === OBJ.FS_TREE || r.id === OBJ.DATA_RELOC_TREE;
  const g = ids.generation;
  return rootItem.encode({
    inode: subvol ? ROOT_INODE : Buffer.alloc(160),
    generation: g,
    rootDirid: subvol ? 256 : 0,
    bytenr: r.bytenr,
    bytesUsed: r.blocks * NODE,
    refs: 1,
    level: r.level,
    generationV2: g,
    ...(r.id === OBJ.FS_TREE
      ? {
          uuid: ids.fsTreeUuid,
          ctimeSec: BigInt.asUintN(64, BigInt(time.sec)),
          ctimeNsec: time.nsec,
          otimeSec: BigInt.asUintN(64, BigInt(time.sec)),
          otimeNsec: time.nsec,
        }
      : {}),
  });
}

/** Root items, plus the root tree's directory (objectid 6) naming the default subvolume, as mkfs writes it. */
export function rootTreeItems(roots: RootInfo[], ids: Ids, time: Time): Item[] {
  const g = ids.generation;
  const name = Buffer.from('default');
  const dir = encodeInodeItem({
    generation: g,
    size: 0,
    nbytes: NODE,
    nlink: 1,
    uid: 0,
    gid: 0,
    mode: S_IFDIR | 0o755,
    rdev: 0,
    time,
  });
  const entry = Buffer.concat([
    dirItem.encode({
      locationObjectid: OBJ.FS_TREE,
      locationType: KEY.ROOT_ITEM,
      locationOffset: 2n ** 64n - 1n,
      transid: g,
      nameLen: name.length,
      type: FT.DIR,
    }),
    name,
  ]);
  const items = [
    ...roots.map((r) => item(r.id, KEY.ROOT_ITEM, 0, rootItemBytes(r, ids, time))),
    item(
      OBJ.FS_TREE,
      KEY.INODE_REF,
      OBJ.ROOT_TREE_DIR,
      Buffer.concat([inodeRef.encode({ index: 0, nameLen: name.length }), name]),
    ),
    item(OBJ.ROOT_TREE_DIR, KEY.INODE_ITEM, 0, dir),
    item(
      OBJ.ROOT_TREE_DIR,
      KEY.INODE_REF,
      OBJ.ROOT_TREE_DIR,
      Buffer.concat([inodeRef.encode({ index: 0, nameLen: 2 }), Buffer.from('..')]),
    ),
    item(OBJ.ROOT_TREE_DIR, KEY.DIR_ITEM, nameHash(name), entry),
  ];
  return items.sort(compareKeys);
}

/** The data relocation tree: just its root directory, as mkfs makes it. */
export function relocTreeItems(ids: Ids, time: Time): Item[] {
  const dir = encodeInodeItem({
    generation: ids.generation,
    size: 0,
    nbytes: 0,
    nlink: 1,
    uid: 0,
    gid: 0,
    mode: S_IFDIR | 0o755,
    rdev: 0,
    time,
  });
  return [
    item(256n, KEY.INODE_ITEM, 0, dir),
    item(256n, KEY.INODE_REF, 256, Buffer.concat([inodeRef.encode({ index: 0, nameLen: 2 }), Buffer.from('..')])),
  ];
}

/** The uuid tree: subvolume 5 under its uuid (key objectid/offset = the uuid's two halves, little-endian). */
export function uuidTreeItems(ids: Ids): Item[] {
  const id = Buffer.alloc(8);
  id.writeBigUInt64LE(OBJ.FS_TREE);
  return [item(ids.fsTreeUuid.readBigUInt64LE(0), KEY.UUID_KEY_SUBVOL, ids.fsTreeUuid.readBigUInt64LE(8), id)];
}

export interface TreeBlock {
  bytenr: number;
  level: number;
  owner: bigint;
}

export interface DataExtent {
  bytenr: number;
  length: number;
  ino: number;
  fileOffset: number;
}

/** Block groups, one skinny METADATA_ITEM per tree block and one EXTENT_ITEM per data extent. */
export function extentTreeItems(chunks: Chunk[], blocks: TreeBlock[], data: DataExtent[], ids: Ids): Item[] {
  const g = ids.generation;
  const used = new Map<number, number>();
  const at = (bytenr: number, n: number) => {
    const c = chunks.find((c) => bytenr >= c.start && bytenr < c.start + c.length)!;
    used.set(c.start, (used.get(c.start) ?? 0) + n);
  };
  const items: Item[] = [];
  for (const b of blocks) {
    at(b.bytenr, NODE);
    const ref = treeBlockRef.encode({ type: KEY.TREE_BLOCK_REF, root: b.owner });
    items.push(
      item(
        BigInt(b.bytenr),
        KEY.METADATA_ITEM,
        b.level,
        Buffer.concat([extentItem.encode({ refs: 1, generation: g, flags: EXTENT_FLAG.TREE_BLOCK }), ref]),
      ),
    );
  }
  for (const d of data) {
    at(d.bytenr, d.length);
    const ref = dataRef.encode({
      type: KEY.EXTENT_DATA_REF,
      root: OBJ.FS_TREE,
      objectid: d.ino,
      offset: d.fileOffset,
      count: 1,
    });
    items.push(
      item(
        BigInt(d.bytenr),
        KEY.EXTENT_ITEM,
        d.length,
        Buffer.concat([extentItem.encode({ refs: 1, generation: g, flags: EXTENT_FLAG.DATA }), ref]),
      ),
    );
  }
  for (const c of chunks)
    items.push(
      item(
        BigInt(c.start),
        KEY.BLOCK_GROUP_ITEM,
        c.length,
        blockGroupItem.encode({ used: used.get(c.start) ?? 0, chunkObjectid: OBJ.FIRST_CHUNK_TREE, flags: c.type }),
      ),
    );
  return items.sort(compareKeys);
}

/** Per block group: FREE_SPACE_INFO, then one FREE_SPACE_EXTENT per free range (extents, not bitmaps). */
export function freeSpaceItems(chunks: Chunk[], usedRuns: Run[]): Item[] {
  const items: Item[] = [];
  for (const c of [...chunks].sort((a, b) => a.start - b.start)) {
    const free = freeRanges(c, usedRuns);
    items.push(
      item(
        BigInt(c.start),
        KEY.FREE_SPACE_INFO,
        c.length,
        freeSpaceInfo.encode({ extentCount: free.length, flags: 0 }),
      ),
    );
    for (const f of free) items.push(item(BigInt(f.start), KEY.FREE_SPACE_EXTENT, f.length, Buffer.alloc(0)));
  }
  return items;
}

/** MAX_CSUM_ITEMS(fs_info, 4): checksums per EXTENT_CSUM item. */
const CSUMS_PER_ITEM = Math.floor((LEAF_DATA - 2 * 25) / 4) - 1;

/** EXTENT_CSUM items: one crc32c per data sector, runs of contiguous sectors in one item. */
export function csumTreeItems(runs: { bytenr: number; csums: Uint32Array }[]): Item[] {
  const items: Item[] = [];
  let start = -1;
  let pending: number[] = [];
  const flush = () => {
    if (!pending.length) return;
    const data = Buffer.alloc(pending.length * 4);
    pending.forEach((c, k) => data.writeUInt32LE(c, k * 4));
    items.push(item(OBJ.EXTENT_CSUM, KEY.EXTENT_CSUM, start, data));
    pending = [];
  };
  for (const r of runs) {
    for (let k = 0; k < r.csums.length; k++) {
      const at = r.bytenr + k * SECTOR;
      if (pending.length === CSUMS_PER_ITEM || (pending.length && at !== start + pending.length * SECTOR)) flush();
      if (!pending.length) start = at;
      pending.push(r.csums[k]);
    }
  }
  flush();
  return items;
}
