// The ext4 writer: tree → a filesystem image, no mke2fs, no mount.
// 1. Number the inodes (root 2, journal 8, lost+found 11, the rest from 12 in walk order;
//    a hard link is one node, so one inode) and lay out every directory's blocks.
// 2. Size the filesystem: geometry, journal and allocation are recomputed until the
//    image holds everything plus size_buffer_mb (0: Fledge's auto buffer), with at least
//    the inodes mke2fs gives that size (sizing.ts).
// 3. Stream file data into its blocks (from the cached blobs, a piece at a time),
//    hashing it: the UUID is derived from the tree's shape and this content hash, the
//    htree hash seed from the shape alone. No clock is read anywhere.
// 4. Write directories, extent blocks, xattr blocks, inode tables, bitmaps, descriptors,
//    superblock + backups, the journal superblock — all checksummed with crc32c.
import { createHash } from 'node:crypto';
import type { ImageSink } from '../artifact.js';
import { BlockWriter } from '../block-writer.js';
import { dataBlockRuns, readRange } from '../tree/content.js';
import { contentOf, type DirNode, type FileNode, keyBytes, linkCounts, makeNode, type Node, shapeDigest, sortedEntries, type Time, type Tree } from '../tree/tree.js';
import { checkLimits } from '../tree/limits.js';
import { crc32c } from './crc32c.js';
import { type DirBlockKind, dirBlocks, emptyDirBlocks, sealDirBlock } from './dir.js';
import { EXT4_LIMITS } from './limits.js';
import { type Extent, extentTree, extentTreeBlocks, MAX_EXTENT_LEN } from './extents.js';
import { Allocator, BLOCK, BLOCKS_PER_GROUP, Geometry, INODE_SIZE, journalBlocks, type Run } from './geometry.js';
import { encodeInode, EXTENTS_FL, INDEX_FL, INODE_XATTR_ROOM, inodeSeed, sealInode } from './inode.js';
import { bufferBytes, mke2fsInodes } from './sizing.js';
import { encodeGroupDesc, encodeSuper, journalSuper } from './super.js';
import { inodeXattrs, splitXattrs, xattrBlock, type XattrEntry, xattrEntries, xattrKey } from './xattr.js';

export interface Ext4Options {
  /** free space added on top of what the tree needs, in MiB; 0 = the auto rule (25 % of the content, 64–1024 MiB) */
  sizeBufferMb: number;
  /** write every block (true) or leave unwritten blocks as holes (false) */
  preallocate: boolean;
  /** the filesystem's creation time, and lost+found's when the tree has none */
  epoch: Time;
}

const ROOT_INO = 2;
const JOURNAL_INO = 8;
const LOST_FOUND_INO = 11;
const FIRST_INO = 12;
const S_IF: Record<Node['type'], number> = { dir: 0o040000, file: 0o100000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000, socket: 0o140000 };
const DIRENT_TYPE: Record<Node['type'], number> = { file: 1, dir: 2, char: 3, block: 4, fifo: 5, socket: 6, symlink: 7 };
const FAST_SYMLINK_MAX = 59;

/** One inode of the image and what its blocks hold. */
interface Ino {
  ino: number;
  node: Node;
  links: number;
  /** directory: its blocks; slow symlink: the target block */
  blocks?: { kind: DirBlockKind | 'raw'; data: Buffer }[];
  indexed?: boolean;
  /** regular file: logical block runs that hold data (the rest are holes) */
  dataRuns?: Run[];
  inodeXattrs: XattrEntry[];
  blockXattrs?: { key: string; entries: XattrEntry[] };
  // filled by allocation:
  extents: Extent[];
  treeBlocks: number[];
  xattrBlock: number;
}

/** Logical blocks of a file's content that hold data. */
function dataRuns(node: FileNode): Run[] {
  return dataBlockRuns(node.content, BLOCK);
}

function numberInodes(tree: Tree, epoch: Time): { inodes: Ino[]; byNode: Map<Node, Ino> } {
  const counts = linkCounts(tree);
  const byNode = new Map<Node, Ino>();
  const inodes: Ino[] = [];
  let next = FIRST_INO;
  const add = (node: Node, ino: number): Ino => {
    const entries = xattrEntries(node.xattrs);
    const { inode, block } = splitXattrs(entries, INODE_XATTR_ROOM);
    const links = node.type === 'dir' && counts.get(node)! > 65000 ? 1 : (counts.get(node) ?? 2);
    const i: Ino = { ino, node, links, inodeXattrs: inode, extents: [], treeBlocks: [], xattrBlock: 0 };
    if (block.length) i.blockXattrs = { key: xattrKey(block), entries: block };
    if (node.type === 'file') i.dataRuns = dataRuns(node);
    byNode.set(node, i);
    inodes.push(i);
    return i;
  };
  add(tree.root, ROOT_INO);
  let lostFound = tree.root.entries.get('lost+found');
  if (lostFound && lostFound.type !== 'dir') throw new Error('/lost+found is not a directory; ext4 needs it to be one');
  if (!lostFound) {
    lostFound = makeNode('dir', { mode: 0o700, uid: 0, gid: 0, mtime: epoch }); // not in the tree: written as 4 empty blocks
    counts.set(lostFound, 2);
    counts.set(tree.root, counts.get(tree.root)! + 1);
    byNode.get(tree.root)!.links = counts.get(tree.root)! > 65000 ? 1 : counts.get(tree.root)!;
    add(lostFound, LOST_FOUND_INO);
  } else add(lostFound, LOST_FOUND_INO);
  for (const { node } of tree.walk()) if (!byNode.has(node)) add(node, next++);
  return { inodes, byNode };
}

/**
 * Directory blocks for every directory and target blocks for slow symlinks (an explicit
 * stack of directories still to do: depth costs no JS stack; the order does not matter).
 */
function contentBlocks(tree: Tree, byNode: Map<Node, Ino>, hashSeed: Uint32Array): void {
  const todo: Array<{ dir: DirNode; parent: number }> = [{ dir: tree.root, parent: ROOT_INO }];
  let synthesized: Node | undefined; // the lost+found numberInodes made, not in the tree
  while (todo.length) {
    const { dir, parent } = todo.pop()!;
    const self = byNode.get(dir)!;
    const names = sortedEntries(dir).map(([k, node]) => ({ name: keyBytes(k), node }));
    if (dir === tree.root && !dir.entries.has('lost+found')) {
      const lf = [...byNode.values()].find((i) => i.ino === LOST_FOUND_INO)!;
      synthesized = lf.node;
      names.push({ name: Buffer.from('lost+found'), node: lf.node });
      lf.blocks = emptyDirBlocks(LOST_FOUND_INO, ROOT_INO, 4).map((data) => ({ kind: 'leaf', data }));
    }
    const d = dirBlocks(
      self.ino,
      parent,
      names.map(({ name, node }) => ({ name, ino: byNode.get(node)!.ino, type: DIRENT_TYPE[node.type] })),
      hashSeed,
    );
    self.blocks = d.blocks;
    self.indexed = d.indexed;
    for (const { node } of names) {
      if (node.type === 'dir' && node !== synthesized) todo.push({ dir: node, parent: self.ino });
      else if (node.type === 'symlink' && node.target.length > FAST_SYMLINK_MAX) {
        const i = byNode.get(node)!;
        if (i.blocks) continue;
        const data = Buffer.alloc(BLOCK);
        data.set(node.target);
        i.blocks = [{ kind: 'raw', data }];
      }
    }
  }
}


interface Layout {
  geo: Geometry;
  journal: Run[];
  /** the journal's extent tree blocks: a big journal (1 GiB from 128 GiB) crosses backup groups into more than the inode's 4 extents */
  journalTree: number[];
  blockBitmaps: number;
  inodeBitmaps: number;
  inodeTables: number[];
  /** one past the last block in use */
  end: number;
  xattrBlocks: Map<string, { block: number; entries: XattrEntry[]; refs: number }>;
}

/** Allocates everything for a filesystem of `blocks` blocks; `end` says how much was used. */
function allocate(inodes: Ino[], blocks: number, inodeCount: number): Layout {
  const geo = new Geometry(blocks, inodeCount);
  const alloc = new Allocator(1 + geo.gdtBlocks, geo.reserved);
  const blockBitmaps = alloc.contiguous(geo.groups);
  const inodeBitmaps = alloc.contiguous(geo.groups);
  const inodeTables = Array.from({ length: geo.groups }, () => alloc.contiguous(geo.itableBlocks));
  const journal = alloc.runs(journalBlocks(blocks));
  const journalTreeCount = extentTreeBlocks(journal.reduce((n, r) => n + Math.ceil(r.length / MAX_EXTENT_LEN), 0));
  const journalTreeStart = journalTreeCount ? alloc.contiguous(journalTreeCount) : 0;
  const journalTree = Array.from({ length: journalTreeCount }, (_, k) => journalTreeStart + k);
  const xattrBlocks: Layout['xattrBlocks'] = new Map();
  for (const i of inodes) {
    i.extents = [];
    const map = (logical: number, length: number) => {
      for (const r of alloc.runs(length)) {
        for (let o = 0; o < r.length; o += MAX_EXTENT_LEN) i.extents.push({ logical: logical + o, physical: r.start + o, length: Math.min(MAX_EXTENT_LEN, r.length - o) });
        logical += r.length;
      }
    };
    if (i.blocks) map(0, i.blocks.length);
    for (const r of i.dataRuns ?? []) map(r.start, r.length);
    i.treeBlocks = [];
    const tree = extentTreeBlocks(i.extents.length);
    if (tree) {
      const start = alloc.contiguous(tree);
      i.treeBlocks = Array.from({ length: tree }, (_, k) => start + k);
    }
    i.xattrBlock = 0;
    if (i.blockXattrs) {
      let shared = xattrBlocks.get(i.blockXattrs.key);
      if (!shared) xattrBlocks.set(i.blockXattrs.key, (shared = { block: alloc.contiguous(1), entries: i.blockXattrs.entries, refs: 0 }));
      shared.refs++;
      i.xattrBlock = shared.block;
    }
  }
  return { geo, journal, journalTree, blockBitmaps, inodeBitmaps, inodeTables, end: alloc.next, xattrBlocks };
}

/** Bytes of data and directory blocks the tree needs (what `du` counts). */
function contentBytes(inodes: Ino[]): number {
  let blocks = 0;
  for (const i of inodes) blocks += (i.blocks?.length ?? 0) + (i.dataRuns ?? []).reduce((n, r) => n + r.length, 0);
  return blocks * BLOCK;
}

/**
 * Finds the smallest layout holding everything plus `spare` free blocks, with at least the
 * inodes mke2fs would give a filesystem of that size (sizing.ts).
 */
function planLayout(inodes: Ino[], spareBlocks: number, spareInodes: number): Layout {
  const used = inodes.reduce((m, i) => Math.max(m, i.ino), 0);
  const ownCount = used + Math.ceil(used / 10) + 64 + spareInodes;
  let blocks = 2048;
  for (let round = 0; round < 20; round++) {
    const layout = allocate(inodes, blocks, Math.max(ownCount, mke2fsInodes(blocks * BLOCK)));
    let want = Math.max(layout.end + spareBlocks, (layout.geo.groups - 1) * BLOCKS_PER_GROUP + 1);
    // a last group shorter than its own metadata copy plus some room is not worth having
    const last = want - (layout.geo.groups - 1) * BLOCKS_PER_GROUP;
    if (layout.geo.groups > 1 && last < 64 + layout.geo.gdtBlocks) want += 64 + layout.geo.gdtBlocks - last;
    if (want === blocks || (want < blocks && round > 0 && layout.end + spareBlocks <= blocks)) return layout;
    blocks = want;
  }
  throw new Error('ext4: the filesystem size did not settle');
}

/** Streams a file's data into its extents, zero-padding each extent's last block. */
function writeFileData(w: BlockWriter, i: Ino, hash: ReturnType<typeof createHash>): void {
  const content = contentOf(i.node);
  for (const e of i.extents) {
    const start = e.logical * BLOCK;
    const end = Math.min((e.logical + e.length) * BLOCK, content.size);
    let block = e.physical;
    let carry = Buffer.alloc(0);
    for (const chunk of readRange(content, start, end)) {
      hash.update(chunk);
      let data = carry.length ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      const whole = data.length - (data.length % BLOCK);
      if (whole) w.write(block, data.subarray(0, whole));
      block += whole / BLOCK;
      carry = Buffer.from(data.subarray(whole));
      data = carry;
    }
    if (carry.length) {
      const last = Buffer.alloc(BLOCK);
      carry.copy(last);
      w.write(block, last);
    }
  }
}

function setBits(bitmap: Uint8Array, from: number, count: number): void {
  for (let b = from; b < from + count; b++) bitmap[b >> 3] |= 1 << (b & 7);
}

export function writeExt4(tree: Tree, out: ImageSink, o: Ext4Options): void {
  checkLimits(tree, EXT4_LIMITS);
  const shape = shapeDigest(tree);
  const hashSeed = Uint32Array.from({ length: 4 }, (_, k) => shape.readUInt32LE(4 * k));
  const { inodes, byNode } = numberInodes(tree, o.epoch);
  contentBlocks(tree, byNode, hashSeed);
  const buffer = bufferBytes(o.sizeBufferMb, contentBytes(inodes));
  const layout = planLayout(inodes, Math.ceil(buffer / BLOCK), Math.floor(buffer / 16384));
  const { geo } = layout;
  const w = new BlockWriter(out, BLOCK);

  // 3. file data, hashed for the UUID
  const contentHash = createHash('sha256');
  for (const i of inodes) if (i.node.type === 'file') writeFileData(w, i, contentHash);
  const uuid = createHash('sha256').update(shape).update(contentHash.digest()).digest().subarray(0, 16);
  uuid[6] = (uuid[6] & 0x0f) | 0x40; // shaped as a version-4 UUID
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  const fsSeed = crc32c(0xffffffff, uuid);

  // 4. directory, symlink, extent-tree and xattr blocks
  const used = new Uint8Array(Math.ceil(geo.groups * BLOCKS_PER_GROUP / 8));
  const inodeTable = new Map<number, Buffer>();
  const journalIno: Ino = { ino: JOURNAL_INO, node: makeNode('file', { mode: 0o600, uid: 0, gid: 0, mtime: o.epoch }), links: 1, inodeXattrs: [], extents: [], treeBlocks: [], xattrBlock: 0 };
  let logical = 0;
  for (const r of layout.journal) {
    for (let k = 0; k < r.length; k += MAX_EXTENT_LEN) journalIno.extents.push({ logical: logical + k, physical: r.start + k, length: Math.min(MAX_EXTENT_LEN, r.length - k) });
    logical += r.length;
  }
  const journalSize = logical * BLOCK;
  journalIno.treeBlocks = layout.journalTree;
  let journalIblock: Buffer = Buffer.alloc(60);

  for (const i of [...inodes, journalIno]) {
    const seed = inodeSeed(fsSeed, i.ino);
    const node = i.node;
    let dataBlocks = 0;
    (i.blocks ?? []).forEach((b, k) => {
      const phys = physicalOf(i.extents, k);
      if (b.kind !== 'raw') sealDirBlock(b.kind, b.data, seed);
      w.write(phys, b.data);
    });
    for (const e of i.extents) {
      dataBlocks += e.length;
      setBits(used, e.physical, e.length);
    }
    let iblock: Buffer;
    let flags = 0;
    if (node.type === 'file' || node.type === 'dir' || (node.type === 'symlink' && i.blocks)) {
      const t = extentTree(i.extents, i.treeBlocks);
      for (const b of t.blocks) {
        b.data.writeUInt32LE(crc32c(seed, b.data, 0, BLOCK - 4), BLOCK - 4);
        w.write(b.block, b.data);
        setBits(used, b.block, 1);
      }
      iblock = t.iblock;
      flags = EXTENTS_FL | (i.indexed ? INDEX_FL : 0);
    } else if (node.type === 'symlink') {
      iblock = Buffer.alloc(60);
      iblock.set(node.target);
    } else if (node.type === 'char' || node.type === 'block') {
      // the kernel's "new" encoding in i_block[1], i_block[0] = 0 (fs/ext4/inode.c)
      iblock = Buffer.alloc(60);
      const { major, minor } = node.rdev;
      iblock.writeUInt32LE(((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0, 4);
    } else iblock = Buffer.alloc(60);
    if (i.ino === JOURNAL_INO) journalIblock = iblock;
    const size = node.type === 'file' ? (i.ino === JOURNAL_INO ? journalSize : node.content.size) : node.type === 'dir' ? (i.blocks?.length ?? 0) * BLOCK : node.type === 'symlink' ? node.target.length : 0;
    const sectors = (dataBlocks + i.treeBlocks.length + (i.xattrBlock ? 1 : 0)) * (BLOCK / 512);
    const inode = encodeInode({
      mode: S_IF[node.type] | node.mode,
      uid: node.uid,
      gid: node.gid,
      size,
      links: i.links,
      sectors,
      flags,
      time: node.mtime,
      iblock,
      xattrBlock: i.xattrBlock,
      xattrs: i.inodeXattrs.length ? inodeXattrs(i.inodeXattrs, INODE_XATTR_ROOM) : undefined,
    });
    sealInode(inode, seed);
    inodeTable.set(i.ino, inode);
  }
  for (const x of layout.xattrBlocks.values()) {
    const b = xattrBlock(x.entries, x.refs, BLOCK);
    const id = Buffer.alloc(8);
    id.writeBigUInt64LE(BigInt(x.block));
    b.writeUInt32LE(crc32c(crc32c(fsSeed, id), b), 16);
    w.write(x.block, b);
    setBits(used, x.block, 1);
  }

  // journal: its superblock; the rest stays zero
  w.write(layout.journal[0].start, journalSuper(journalSize / BLOCK, uuid));
  for (const r of layout.journal) setBits(used, r.start, r.length);

  // metadata blocks in use; bits past the end of the filesystem are set too
  setBits(used, 0, 1 + geo.gdtBlocks);
  for (const r of geo.reserved) setBits(used, r.start, r.length);
  setBits(used, layout.blockBitmaps, geo.groups);
  setBits(used, layout.inodeBitmaps, geo.groups);
  for (const t of layout.inodeTables) setBits(used, t, geo.itableBlocks);
  setBits(used, geo.blocks, geo.groups * BLOCKS_PER_GROUP - geo.blocks);

  // inode tables, inode bitmaps, block bitmaps, descriptors
  const ipg = geo.inodesPerGroup;
  const lastIno = inodes.reduce((m, i) => Math.max(m, i.ino), 0);
  const dirsIn = new Array<number>(geo.groups).fill(0);
  for (const i of inodes) if (i.node.type === 'dir') dirsIn[Math.floor((i.ino - 1) / ipg)]++;
  const descs: Buffer[] = [];
  let freeBlocksTotal = 0;
  let freeInodesTotal = 0;
  for (let g = 0; g < geo.groups; g++) {
    const usedInodes = Math.max(0, Math.min(ipg, lastIno - g * ipg));
    // the table up to its last inode in use; the zeros after it stay a hole unless
    // preallocated (a 64 GiB image has 1 GiB of empty inode tables)
    const tableBlocks = o.preallocate ? geo.itableBlocks : Math.ceil((usedInodes * INODE_SIZE) / BLOCK);
    const table = Buffer.alloc(tableBlocks * BLOCK);
    for (let k = 0; k < usedInodes; k++) inodeTable.get(g * ipg + k + 1)?.copy(table, k * INODE_SIZE);
    if (tableBlocks) w.write(layout.inodeTables[g], table);
    const ibitmap = Buffer.alloc(BLOCK);
    setBits(ibitmap, 0, usedInodes);
    setBits(ibitmap, ipg, BLOCK * 8 - ipg);
    w.write(layout.inodeBitmaps + g, ibitmap);
    const bbitmap = Buffer.from(used.subarray(g * BLOCK, (g + 1) * BLOCK));
    w.write(layout.blockBitmaps + g, bbitmap);
    let usedBlocks = 0;
    for (let b = 0; b < geo.groupBlocks(g); b++) if (bbitmap[b >> 3] & (1 << (b & 7))) usedBlocks++;
    const freeBlocks = geo.groupBlocks(g) - usedBlocks;
    freeBlocksTotal += freeBlocks;
    freeInodesTotal += ipg - usedInodes;
    descs.push(
      encodeGroupDesc(
        {
          blockBitmap: layout.blockBitmaps + g,
          inodeBitmap: layout.inodeBitmaps + g,
          inodeTable: layout.inodeTables[g],
          freeBlocks,
          freeInodes: ipg - usedInodes,
          usedDirs: dirsIn[g],
          itableUnused: ipg - usedInodes,
          blockBitmapCsum: crc32c(fsSeed, bbitmap),
          inodeBitmapCsum: crc32c(fsSeed, ibitmap, 0, ipg / 8),
        },
        g,
        fsSeed,
      ),
    );
  }

  // superblock and descriptor table, in group 0 and every backup group
  const gdt = Buffer.alloc(geo.gdtBlocks * BLOCK);
  Buffer.concat(descs).copy(gdt);
  const fields = { geo, freeBlocks: freeBlocksTotal, freeInodes: freeInodesTotal, uuid, hashSeed: shape.subarray(0, 16), time: o.epoch.sec, journalIblock, journalSize };
  for (const g of [0, ...geo.reserved.map((r) => r.start / BLOCKS_PER_GROUP)]) {
    const first = Buffer.alloc(BLOCK);
    encodeSuper(fields, g).copy(first, g === 0 ? 1024 : 0);
    w.write(g * BLOCKS_PER_GROUP, Buffer.concat([first, gdt]));
  }

  if (o.preallocate) {
    // every block not written above: free space and the journal's body
    const zeros = Buffer.alloc(BLOCK);
    for (const r of layout.journal) for (let b = r.start + (r === layout.journal[0] ? 1 : 0); b < r.start + r.length; b++) w.write(b, zeros);
    for (let b = 0; b < geo.blocks; b++) if (!(used[b >> 3] & (1 << (b & 7)))) w.write(b, zeros);
  }
  w.flush();
  out.setSize(geo.blocks * BLOCK);
}

/** The physical block of logical block k. */
function physicalOf(extents: Extent[], k: number): number {
  for (const e of extents) if (k >= e.logical && k < e.logical + e.length) return e.physical + (k - e.logical);
  throw new Error(`ext4: logical block ${k} unmapped`);
}
