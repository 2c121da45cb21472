// Step 2 of the ext4 writer: where every block goes, for a filesystem of a given size,
// and the smallest size that holds everything plus the free space asked for.
// Order (geometry.ts): all block bitmaps, all inode bitmaps, every group's inode table,
// then each planned inode in plan order (the journal first): its blocks, its extent
// tree blocks, its xattr block (identical xattr blocks are one, shared).
import { type Extent, extentTreeBlocks } from './extents.js';
import { BLOCK, BLOCKS_PER_GROUP, MAX_EXTENT_LEN } from './format.js';
import { Allocator, Geometry, journalBlocks, type Run } from './geometry.js';
import { type Body, fileRuns, type PlannedInode } from './plan.js';
import { mke2fsInodes } from './sizing.js';
import type { XattrEntry } from './xattr.js';

/** Where one planned inode's blocks are. */
export interface Placement {
  /** its blocks (directory, symlink target, file data, journal) in logical order */
  extents: Extent[];
  /** its extent tree blocks (none when the extents fit the inode) */
  treeBlocks: number[];
  /** its xattr block, or 0 */
  xattrBlock: number;
}

export interface XattrBlock {
  block: number;
  entries: XattrEntry[];
  /** how many inodes share it (h_refcount) */
  refs: number;
}

export interface Layout {
  geo: Geometry;
  blockBitmaps: number;
  inodeBitmaps: number;
  inodeTables: number[];
  /** one per planned inode, in plan order */
  placements: Placements;
  xattrBlocks: XattrBlock[];
  /** one past the last block in use */
  end: number;
}

/** The logical runs a body's blocks fill in a filesystem of `fsBlocks`. */
function logicalRuns(body: Body, fsBlocks: number): Run[] {
  switch (body.kind) {
    case 'file':
      return fileRuns(body.content);
    case 'dir':
      return [{ start: 0, length: body.blocks.length }];
    case 'slow-symlink':
      return [{ start: 0, length: 1 }];
    case 'journal':
      return [{ start: 0, length: journalBlocks(fsBlocks) }];
    case 'inline':
      return [];
  }
}

/** A growing array of numbers, in a Float64Array (block numbers pass 2^31). */
class Numbers {
  private a = new Float64Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.a.length) {
      const bigger = new Float64Array(this.a.length * 2);
      bigger.set(this.a);
      this.a = bigger;
    }
    this.a[this.length++] = v;
  }

  at(k: number): number {
    return this.a[k];
  }
}

/**
 * Where every planned inode's blocks are, in flat number arrays rather than an object
 * and two lists per inode (a plan has one inode per entry of the tree): inode k's extents
 * are triples (logical, physical, length) from extentAt[k] to extentAt[k + 1]; its tree
 * blocks are treeCount[k] blocks from treeStart[k].
 */
export class Placements {
  private readonly extentAt = new Numbers();
  private readonly extents = new Numbers();
  private readonly treeStart = new Numbers();
  private readonly treeCount = new Numbers();
  private readonly xattr = new Numbers();

  constructor() {
    this.extentAt.push(0);
  }

  /** Adds an extent to the inode being placed (the next one). */
  extent(logical: number, physical: number, length: number): void {
    this.extents.push(logical);
    this.extents.push(physical);
    this.extents.push(length);
  }

  /** Extents added to the inode being placed so far. */
  openExtents(): number {
    return (this.extents.length - this.extentAt.at(this.extentAt.length - 1)) / 3;
  }

  /** Ends the inode being placed: its tree blocks (`treeCount` from `treeStart`) and its xattr block (or 0). */
  close(treeStart: number, treeCount: number, xattrBlock: number): void {
    this.extentAt.push(this.extents.length);
    this.treeStart.push(treeCount ? treeStart : 0);
    this.treeCount.push(treeCount);
    this.xattr.push(xattrBlock);
  }

  /** Inode k's placement, built when asked. */
  at(k: number): Placement {
    const extents: Extent[] = [];
    for (let x = this.extentAt.at(k); x < this.extentAt.at(k + 1); x += 3)
      extents.push({ logical: this.extents.at(x), physical: this.extents.at(x + 1), length: this.extents.at(x + 2) });
    const start = this.treeStart.at(k);
    const treeBlocks = Array.from({ length: this.treeCount.at(k) }, (_, b) => start + b);
    return { extents, treeBlocks, xattrBlock: this.xattr.at(k) };
  }
}

/**
 * Places one inode's blocks (tree blocks in one run) straight into `out`, extents of at
 * most MAX_EXTENT_LEN blocks; `shared` gathers the xattr blocks by content.
 */
function place(
  alloc: Allocator,
  i: PlannedInode,
  fsBlocks: number,
  shared: Map<string, XattrBlock>,
  out: Placements,
): void {
  for (const r of logicalRuns(i.body, fsBlocks)) {
    let logical = r.start;
    alloc.take(r.length, (start, length) => {
      for (let o = 0; o < length; o += MAX_EXTENT_LEN)
        out.extent(logical + o, start + o, Math.min(MAX_EXTENT_LEN, length - o));
      logical += length;
    });
  }
  const treeCount = extentTreeBlocks(out.openExtents());
  const treeStart = treeCount ? alloc.contiguous(treeCount) : 0;
  let xattrBlock = 0;
  if (i.blockXattrs) {
    let x = shared.get(i.blockXattrs.key);
    if (!x)
      shared.set(i.blockXattrs.key, (x = { block: alloc.contiguous(1), entries: i.blockXattrs.entries, refs: 0 }));
    x.refs++;
    xattrBlock = x.block;
  }
  out.close(treeStart, treeCount, xattrBlock);
}

/** A fresh allocator for a filesystem of `blocks`, after the metadata that comes first. */
function startAllocation(blocks: number, inodeCount: number) {
  const geo = new Geometry(blocks, inodeCount);
  const alloc = new Allocator(1 + geo.gdtBlocks, geo.reserved);
  const blockBitmaps = alloc.contiguous(geo.groups);
  const inodeBitmaps = alloc.contiguous(geo.groups);
  const inodeTables = Array.from({ length: geo.groups }, () => alloc.contiguous(geo.itableBlocks));
  return { geo, alloc, blockBitmaps, inodeBitmaps, inodeTables };
}

/** Places everything in a filesystem of `blocks` blocks; `end` says how much was used. */
function allocate(inodes: PlannedInode[], blocks: number, inodeCount: number): Layout {
  const { geo, alloc, blockBitmaps, inodeBitmaps, inodeTables } = startAllocation(blocks, inodeCount);
  const shared = new Map<string, XattrBlock>();
  const placements = new Placements();
  for (const i of inodes) place(alloc, i, blocks, shared, placements);
  return {
    geo,
    blockBitmaps,
    inodeBitmaps,
    inodeTables,
    placements,
    xattrBlocks: [...shared.values()],
    end: alloc.next,
  };
}

/** A journal's run in Demands: its length depends on the filesystem's size. */
const JOURNAL_RUN = -1;

/**
 * What each planned inode asks of the allocator, gathered once for every sizing round
 * (a round then costs a few array reads an inode, not a placement): the lengths of its
 * logical runs, and which distinct xattr block it refers to.
 */
class Demands {
  readonly runs = new Numbers();
  /** inode k's runs end at runEnd[k] */
  readonly runEnd = new Numbers();
  /** inode k's xattr block: an index of a distinct list, or -1 */
  readonly xattr = new Numbers();
  readonly xattrLists: number;

  constructor(inodes: PlannedInode[]) {
    const keys = new Map<string, number>();
    for (const i of inodes) {
      if (i.body.kind === 'journal') this.runs.push(JOURNAL_RUN);
      else for (const r of logicalRuns(i.body, 0)) this.runs.push(r.length);
      this.runEnd.push(this.runs.length);
      const key = i.blockXattrs?.key;
      if (key !== undefined && !keys.has(key)) keys.set(key, keys.size);
      this.xattr.push(key === undefined ? -1 : keys.get(key)!);
    }
    this.xattrLists = keys.size;
  }
}

/**
 * allocate's geometry and `end` for a filesystem of `blocks`, without the placements:
 * the same allocator calls in the same order, with extents counted instead of listed.
 */
function measure(d: Demands, blocks: number, inodeCount: number): { geo: Geometry; end: number } {
  const { geo, alloc } = startAllocation(blocks, inodeCount);
  const journal = journalBlocks(blocks);
  const placed = new Uint8Array(d.xattrLists);
  for (let k = 0, r = 0; k < d.runEnd.length; k++) {
    let extents = 0;
    for (const end = d.runEnd.at(k); r < end; r++) {
      const length = d.runs.at(r);
      extents += alloc.extentCount(length === JOURNAL_RUN ? journal : length, MAX_EXTENT_LEN);
    }
    const treeCount = extentTreeBlocks(extents);
    if (treeCount) alloc.contiguous(treeCount);
    const x = d.xattr.at(k);
    if (x >= 0 && !placed[x]) {
      placed[x] = 1;
      alloc.contiguous(1);
    }
  }
  return { geo, end: alloc.next };
}

/**
 * The smallest layout holding everything plus `spareBlocks` free blocks, with room for
 * `spareInodes` more inodes and at least the inodes mke2fs would give a filesystem of
 * that size (sizing.ts). The size is found by rounds of measuring; only the last size is
 * placed.
 */
export function planLayout(inodes: PlannedInode[], spareBlocks: number, spareInodes: number): Layout {
  const used = inodes.reduce((m, i) => Math.max(m, i.ino), 0);
  const ownCount = used + Math.ceil(used / 10) + 64 + spareInodes;
  const demands = new Demands(inodes);
  let blocks = 2048;
  for (let round = 0; round < 20; round++) {
    const inodeCount = Math.max(ownCount, mke2fsInodes(blocks * BLOCK));
    const { geo, end } = measure(demands, blocks, inodeCount);
    let want = Math.max(end + spareBlocks, (geo.groups - 1) * BLOCKS_PER_GROUP + 1);
    // a last group shorter than its own metadata copy plus some room is not worth having
    const last = want - (geo.groups - 1) * BLOCKS_PER_GROUP;
    if (geo.groups > 1 && last < 64 + geo.gdtBlocks) want += 64 + geo.gdtBlocks - last;
    if (want === blocks || (want < blocks && round > 0 && end + spareBlocks <= blocks))
      return allocate(inodes, blocks, inodeCount);
    blocks = want;
  }
  throw new Error('ext4: the filesystem size did not settle');
}
