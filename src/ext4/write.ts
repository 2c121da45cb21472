// The ext4 writer: tree → a filesystem image, no mke2fs, no mount. By phase:
// 1. Plan (plan.ts): number the inodes and lay out every directory's blocks; the journal
//    and lost+found are planned inodes like the others.
// 2. Layout (layout.ts): size the filesystem: geometry, journal and allocation are
//    recomputed until the image holds everything plus size_buffer_mb (0: Fledge's auto
//    buffer), with at least the inodes mke2fs gives that size (sizing.ts).
// 3. The data's hash (data.ts): the UUID is derived from the tree's shape and this
//    content hash, the htree hash seed from the shape alone. No clock is read anywhere.
// 4. Metadata: directories, symlink targets, extent trees, xattr blocks, inode tables,
//    bitmaps, descriptors, superblock + backups, the journal superblock — all
//    checksummed with crc32c (format.ts holds every structure).
// 5. Data: stream file data into its blocks (from the cached blobs, a piece at a time),
//    in ascending block order, so the image is final from its start up to the data
//    written so far (`data.written`: the artifact is hashed behind it, in parallel).
import { createHash } from 'node:crypto';
import type { ImageSink } from '../artifact.js';
import type { Content } from '../tree/content.js';
import { BlockWriter } from '../block-writer.js';
import { checkLimits } from '../tree/limits.js';
import { shapeDigest, type Time, type Tree } from '../tree/tree.js';
import { crc32c } from './crc32c.js';
import { contentDigest, DataWriter } from './data.js';
import { sealDirBlock } from './dir.js';
import { type Extent, extentTree, sealExtentBlock } from './extents.js';
import { BLOCK, BLOCKS_PER_GROUP, EXTENTS_FL, INDEX_FL, INODE_SIZE, INODE_XATTR_ROOM, SUPER_OFFSET } from './format.js';
import { encodeInode, inodeSeed, sealInode } from './inode.js';
import { type Layout, type Placement, type Placements, planLayout } from './layout.js';
import { EXT4_LIMITS } from './limits.js';
import { type Body, contentBlocks, type PlannedInode, planInodes } from './plan.js';
import { bufferBytes } from './sizing.js';
import { encodeGroupDesc, encodeSuper, journalSuper } from './super.js';
import { inodeXattrs, sealXattrBlock, xattrBlock } from './xattr.js';

export interface Ext4Options {
  /** free space added on top of what the tree needs, in MiB; 0 = the auto rule (25 % of the content, 64–1024 MiB) */
  sizeBufferMb: number;
  /** write every block (true) or leave unwritten blocks as holes (false) */
  preallocate: boolean;
  /** the filesystem's creation time, and lost+found's when the tree has none */
  epoch: Time;
  /**
   * contentDigest of the tree's files in walk order, when someone else computes it (the
   * main thread, while this one plans: src/pipeline/ext4-handoff.ts); else computed here
   */
  contentDigest?: () => Buffer;
  /**
   * file data's path (src/pipeline/ext4-handoff.ts): the buffers it is read into
   * (`buffer`, one per write), and each write once made (`written`: its bytes, where
   * they went; everything before them in the image is final)
   */
  data?: DataHooks;
  /** told once, before anything is written, from which byte on the image holds only zeros */
  zerosFrom?: (bytes: number) => void;
}

export interface DataHooks {
  buffer: () => Buffer;
  written: (chunk: Uint8Array, position: number) => void;
}

/** One bit per block of the filesystem (rounded up to whole groups): set = in use. */
type BlockBitmap = Uint8Array;

export function writeExt4(tree: Tree, out: ImageSink, o: Ext4Options): void {
  checkLimits(tree, EXT4_LIMITS);
  const shape = shapeDigest(tree);
  const hashSeed = Uint32Array.from({ length: 4 }, (_, k) => shape.readUInt32LE(4 * k));
  // 1. plan, 2. layout
  const inodes = planInodes(tree, o.epoch, hashSeed);
  const buffer = bufferBytes(o.sizeBufferMb, inodes.reduce((n, i) => n + contentBlocks(i.body), 0) * BLOCK);
  const layout = planLayout(inodes, Math.ceil(buffer / BLOCK), Math.floor(buffer / 16384));
  const { geo, placements } = layout;
  o.zerosFrom?.(zerosFrom(layout));
  const w = new BlockWriter(out, BLOCK);
  // 3. the data's hash (so the UUID), 4. metadata, 5. the data itself
  const uuid = uuidOf(shape, o.contentDigest?.() ?? contentDigest(filesOf(inodes)));
  writeMetadata(w, inodes, layout, { uuid, hashSeed, epoch: o.epoch, preallocate: o.preallocate });
  w.flush();
  const data = o.data
    ? new BlockWriter(ascending(out, o.data.written), BLOCK, o.data.buffer)
    : new BlockWriter(out, BLOCK);
  writeData(data, inodes, placements);
  data.flush();
  out.setSize(geo.blocks * BLOCK);
}

function* filesOf(inodes: PlannedInode[]): Generator<Content> {
  for (const i of inodes) if (i.body.kind === 'file') yield i.body.content;
}

/** The first byte after every block in use and every backup superblock: zeros follow (free space). */
function zerosFrom({ end, geo }: Layout): number {
  const lastBackup = geo.reserved.at(-1);
  return Math.max(end, lastBackup ? lastBackup.start + lastBackup.length : 0) * BLOCK;
}

/** The UUID: from the tree's shape and its data's hash. */
function uuidOf(shape: Buffer, contentHash: Buffer): Buffer {
  const uuid = createHash('sha256').update(shape).update(contentHash).digest().subarray(0, 16);
  uuid[6] = (uuid[6] & 0x0f) | 0x40; // shaped as a version-4 UUID
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  return uuid;
}

interface MetadataInput {
  uuid: Buffer;
  hashSeed: Uint32Array;
  epoch: Time;
  preallocate: boolean;
}

/** Everything but file data: all of it checksummed from the UUID. */
function writeMetadata(w: BlockWriter, inodes: PlannedInode[], layout: Layout, m: MetadataInput): void {
  const { geo, placements } = layout;
  const fsSeed = crc32c(0xffffffff, m.uuid);
  const used: BlockBitmap = new Uint8Array(Math.ceil((geo.groups * BLOCKS_PER_GROUP) / 8));
  const tables = new InodeTables(w, layout, m.preallocate);
  const j = inodes.findIndex((i) => i.body.kind === 'journal');
  let journalIblock: Buffer = Buffer.alloc(0);
  inodes.forEach((i, k) => {
    const { inode, iblock } = writeInode(w, i, placements.at(k), fsSeed, used);
    tables.put(i.ino, inode);
    if (k === j) journalIblock = iblock;
  });
  tables.finish();
  writeXattrBlocks(w, layout, fsSeed, used);
  const journal = placements.at(j);
  const journalSize = sizeOf(inodes[j].body, journal);
  w.write(journal.extents[0].physical, journalSuper(journalSize / BLOCK, m.uuid));
  markMetadata(used, layout);
  const lastIno = inodes.reduce((n, i) => Math.max(n, i.ino), 0);
  const dirs = inodes.filter((i) => i.body.kind === 'dir').map((i) => i.ino);
  const groups = writeGroups(w, layout, { lastIno, dirs, used, fsSeed });
  const { uuid, hashSeed } = m;
  const time = m.epoch.sec;
  writeSupers(w, layout, groups.descs, (g) =>
    encodeSuper({ geo, ...groups, uuid, hashSeed, time, journalIblock, journalSize }, g),
  );
  if (m.preallocate) writeZeros(w, used, geo.blocks, journal.extents);
}

/**
 * The sink, telling `written` of each write once made: file data is written last (every
 * other block before it) and in ascending block order, which this checks, so everything
 * below the end of the latest write is final.
 */
function ascending(out: ImageSink, written: DataHooks['written']): ImageSink {
  let end = 0;
  return {
    writeAt(chunk, position) {
      if (position < end) throw new Error(`ext4: data written at byte ${position}, below byte ${end} written before`);
      out.writeAt(chunk, position);
      end = position + chunk.length;
      written(chunk, position);
    },
    setSize: (size) => out.setSize(size),
  };
}

/** Streams every file's data into its blocks. */
function writeData(w: BlockWriter, inodes: PlannedInode[], placements: Placements): void {
  const data = new DataWriter(w);
  try {
    inodes.forEach((i, k) => {
      if (i.body.kind === 'file') data.write(i.body.content, placements.at(k).extents);
    });
  } finally {
    data.close();
  }
}

/** i_size: bytes of content, of directory blocks, of the target, of the journal. */
function sizeOf(body: Body, p: Placement): number {
  switch (body.kind) {
    case 'file':
      return body.content.size;
    case 'dir':
      return body.blocks.length * BLOCK;
    case 'journal':
      return p.extents.reduce((n, e) => n + e.length, 0) * BLOCK;
    case 'slow-symlink':
    case 'inline':
      return body.size;
  }
}

/**
 * Writes an inode's directory or symlink blocks and its extent tree blocks, marks all its
 * blocks in use, and returns its inode table record and i_block.
 */
function writeInode(
  w: BlockWriter,
  i: PlannedInode,
  p: Placement,
  fsSeed: number,
  used: BlockBitmap,
): { inode: Buffer; iblock: Buffer } {
  const seed = inodeSeed(fsSeed, i.ino);
  const { body } = i;
  if (body.kind === 'dir') {
    body.blocks.forEach((b) => sealDirBlock(b.kind, b.data, seed));
    body.blocks.forEach((b, k) => w.write(physicalOf(p.extents, k), b.data));
  }
  if (body.kind === 'slow-symlink') w.write(physicalOf(p.extents, 0), body.block);
  for (const e of p.extents) setBits(used, e.physical, e.length);
  let iblock: Buffer;
  if (body.kind === 'inline') iblock = body.iblock;
  else {
    const t = extentTree(p.extents, p.treeBlocks);
    for (const b of t.blocks) {
      sealExtentBlock(b.data, seed);
      w.write(b.block, b.data);
      setBits(used, b.block, 1);
    }
    iblock = t.iblock;
  }
  const flags = body.kind === 'inline' ? 0 : EXTENTS_FL | (body.kind === 'dir' && body.indexed ? INDEX_FL : 0);
  const blocks = p.extents.reduce((n, e) => n + e.length, 0) + p.treeBlocks.length + (p.xattrBlock ? 1 : 0);
  const inode = encodeInode({
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    size: sizeOf(body, p),
    links: i.links,
    sectors: blocks * (BLOCK / 512),
    flags,
    time: i.time,
    iblock,
    xattrBlock: p.xattrBlock,
    xattrs: i.inodeXattrs.length ? inodeXattrs(i.inodeXattrs, INODE_XATTR_ROOM) : undefined,
  });
  sealInode(inode, seed);
  return { inode, iblock };
}

function writeXattrBlocks(w: BlockWriter, layout: Layout, fsSeed: number, used: BlockBitmap): void {
  for (const x of layout.xattrBlocks) {
    const b = xattrBlock(x.entries, x.refs);
    sealXattrBlock(b, x.block, fsSeed);
    w.write(x.block, b);
    setBits(used, x.block, 1);
  }
}

/** Marks the metadata blocks in use; bits past the end of the filesystem are set too. */
function markMetadata(used: BlockBitmap, { geo, blockBitmaps, inodeBitmaps, inodeTables }: Layout): void {
  setBits(used, 0, 1 + geo.gdtBlocks);
  for (const r of geo.reserved) setBits(used, r.start, r.length);
  setBits(used, blockBitmaps, geo.groups);
  setBits(used, inodeBitmaps, geo.groups);
  for (const t of inodeTables) setBits(used, t, geo.itableBlocks);
  setBits(used, geo.blocks, geo.groups * BLOCKS_PER_GROUP - geo.blocks);
}

interface GroupInput {
  /** the highest inode number in use */
  lastIno: number;
  /** the directories' inode numbers */
  dirs: number[];
  used: BlockBitmap;
  fsSeed: number;
}

/** Writes every group's bitmaps; returns the descriptors and the free counts. */
function writeGroups(
  w: BlockWriter,
  layout: Layout,
  input: GroupInput,
): { descs: Buffer[]; freeBlocks: number; freeInodes: number } {
  const { geo } = layout;
  const ipg = geo.inodesPerGroup;
  const { lastIno } = input;
  const dirsIn = new Array<number>(geo.groups).fill(0);
  for (const ino of input.dirs) dirsIn[Math.floor((ino - 1) / ipg)]++;
  const descs: Buffer[] = [];
  let freeBlocks = 0;
  let freeInodes = 0;
  for (let g = 0; g < geo.groups; g++) {
    const usedInodes = Math.max(0, Math.min(ipg, lastIno - g * ipg));
    const ibitmap = Buffer.alloc(BLOCK);
    setBits(ibitmap, 0, usedInodes);
    setBits(ibitmap, ipg, BLOCK * 8 - ipg);
    w.write(layout.inodeBitmaps + g, ibitmap);
    const bbitmap = Buffer.from(input.used.subarray(g * BLOCK, (g + 1) * BLOCK));
    w.write(layout.blockBitmaps + g, bbitmap);
    const free = geo.groupBlocks(g) - countBits(bbitmap, geo.groupBlocks(g));
    freeBlocks += free;
    freeInodes += ipg - usedInodes;
    const d = {
      blockBitmap: layout.blockBitmaps + g,
      inodeBitmap: layout.inodeBitmaps + g,
      inodeTable: layout.inodeTables[g],
      freeBlocks: free,
      freeInodes: ipg - usedInodes,
      usedDirs: dirsIn[g],
      itableUnused: ipg - usedInodes,
      blockBitmapCsum: crc32c(input.fsSeed, bbitmap),
      inodeBitmapCsum: crc32c(input.fsSeed, ibitmap, 0, ipg / 8),
    };
    descs.push(encodeGroupDesc(d, g, input.fsSeed));
  }
  return { descs, freeBlocks, freeInodes };
}

/**
 * The inode tables, filled a group at a time: inodes come in plan order, whose groups
 * never go back (8, 2, 11 are in group 0, then 12, 13, ... in number order), so only one
 * group's table is held, and each is written when the next group starts. A table is
 * written up to its last inode in use; the zeros after it stay a hole unless
 * preallocated (a 64 GiB image has 1 GiB of empty inode tables).
 */
class InodeTables {
  private group = -1;
  private table = Buffer.alloc(0);
  /** records in the held table up to its highest inode in use */
  private count = 0;

  constructor(
    private readonly w: BlockWriter,
    private readonly layout: Layout,
    private readonly preallocate: boolean,
  ) {}

  put(ino: number, record: Buffer): void {
    const ipg = this.layout.geo.inodesPerGroup;
    const g = Math.floor((ino - 1) / ipg);
    if (g < this.group) throw new Error(`ext4: inode ${ino} planned after group ${this.group}'s`);
    if (g > this.group) this.next(g);
    const k = ino - 1 - g * ipg;
    record.copy(this.table, k * INODE_SIZE);
    this.count = Math.max(this.count, k + 1);
  }

  /** Writes the held table; with preallocate, also the (empty) tables of every group after it. */
  finish(): void {
    this.next(this.layout.geo.groups);
  }

  /** Writes the held table (and, preallocating, the empty ones up to g); holds group g's. */
  private next(g: number): void {
    const { geo, inodeTables } = this.layout;
    const zeros = this.preallocate ? Buffer.alloc(geo.itableBlocks * BLOCK) : undefined;
    if (this.group >= 0) {
      const blocks = zeros ? geo.itableBlocks : Math.ceil((this.count * INODE_SIZE) / BLOCK);
      this.w.write(inodeTables[this.group], this.table.subarray(0, blocks * BLOCK));
    }
    if (zeros) for (let e = this.group + 1; e < g; e++) this.w.write(inodeTables[e], zeros);
    this.group = g;
    this.count = 0;
    if (g < geo.groups) this.table = Buffer.alloc(geo.itableBlocks * BLOCK);
  }
}

/** The superblock and descriptor table, in group 0 and every backup group. */
function writeSupers(w: BlockWriter, { geo }: Layout, descs: Buffer[], superFor: (group: number) => Buffer): void {
  const gdt = Buffer.alloc(geo.gdtBlocks * BLOCK);
  Buffer.concat(descs).copy(gdt);
  for (const g of [0, ...geo.reserved.map((r) => r.start / BLOCKS_PER_GROUP)]) {
    const first = Buffer.alloc(BLOCK);
    superFor(g).copy(first, g === 0 ? SUPER_OFFSET : 0);
    w.write(g * BLOCKS_PER_GROUP, Buffer.concat([first, gdt]));
  }
}

/** preallocate: zeros in every block not written: the journal's body and free space. */
function writeZeros(w: BlockWriter, used: BlockBitmap, blocks: number, journal: Extent[]): void {
  const zeros = Buffer.alloc(BLOCK);
  const journalStart = journal[0].physical;
  for (const e of journal)
    for (let b = e.physical; b < e.physical + e.length; b++) if (b !== journalStart) w.write(b, zeros);
  for (let b = 0; b < blocks; b++) if (!(used[b >> 3] & (1 << (b & 7)))) w.write(b, zeros);
}

function setBits(bitmap: Uint8Array, from: number, count: number): void {
  for (let b = from; b < from + count; b++) bitmap[b >> 3] |= 1 << (b & 7);
}

/** Set bits among the first `count` of a bitmap. */
function countBits(bitmap: Uint8Array, count: number): number {
  let n = 0;
  for (let b = 0; b < count; b++) if (bitmap[b >> 3] & (1 << (b & 7))) n++;
  return n;
}

/** The physical block of logical block k. */
function physicalOf(extents: Extent[], k: number): number {
  for (const e of extents) if (k >= e.logical && k < e.logical + e.length) return e.physical + (k - e.logical);
  throw new Error(`ext4: logical block ${k} unmapped`);
}
