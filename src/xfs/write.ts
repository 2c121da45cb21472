// The xfs writer: tree → a v5 xfs image, no mkfs.xfs, no mount (XFS book; xfs_format.h).
// 1. Collect inodes (walk order) and what each needs; size the filesystem (plan.ts):
//    the smallest mkfs-shaped geometry holding everything plus size_buffer_mb of free
//    space (0: Fledge's auto buffer, 25 % of the content within 64 MiB-1 GiB, as ext4).
// 2. Stream file data into its extents, hashing it: the UUID comes from the tree's shape
//    and that hash, so every byte follows from the content. No clock is read.
// 3. Write directories, symlink, bmbt and attribute blocks, the inode chunks, each AG's
//    headers and btrees (ags.ts) and the clean log — all self-describing and CRC'd.
import { createHash } from 'node:crypto';
import type { ImageSink } from '../artifact.js';
import { BlockWriter } from '../block-writer.js';
import { S_IALLUGO, S_IF, sysvEncodeDev } from '../posix.js';
import { bufferBytes } from '../ext4/sizing.js';
import { readRange } from '../tree/content.js';
import { checkLimits } from '../tree/limits.js';
import { type FileNode, fileSize, makeNode, type Node, shapeDigest, type Time, type Tree } from '../tree/tree.js';
import { agStates, writeAgs } from './ags.js';
import { buildFork, type Extent } from './bmap.js';
import { sealCrc } from './crc.js';
import type { DirBlock } from './dir.js';
import {
  ATTR3_RMT_HDR,
  BLOCK,
  DA3_BLKINFO,
  DIFLAG_NEWRTBM,
  DIR3_DATA_HDR,
  DSYMLINK_HDR,
  FMT,
  INODE_SIZE,
  INODES_PER_BLOCK,
  INODES_PER_CHUNK,
  LBTREE,
  LITERAL,
  SYMLINK_MAGIC,
} from './format.js';
import { encodeInode, freeInode } from './inode.js';
import { XFS_LIMITS } from './limits.js';
import { allocate, collectInodes, dirForm, type Ino, type Layout } from './plan.js';

export interface XfsOptions {
  /** free space added on top of what the tree needs, in MiB; 0: Fledge's auto rule, as ext4 (ext4/sizing.ts) */
  sizeBufferMb: number;
  /** write every block (true) or leave unwritten blocks as holes (false) */
  preallocate: boolean;
  /** the time of the realtime inodes mkfs makes */
  epoch: Time;
}

/** 32 MiB: two AGs (xfs_repair cannot check the geometry of a single-AG filesystem) */
const MIN_BLOCKS = 8192;
const SECTORS = BLOCK / 512;

/** The smallest layout that holds everything with at least `spare` blocks free. */
function planLayout(inodes: Ino[], dirBlocks: Map<Ino, number[]>, spare: number): Layout {
  let want = MIN_BLOCKS;
  for (let round = 0; round < 64; round++) {
    let layout: Layout | undefined;
    try {
      layout = allocate(inodes, dirBlocks, want);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    const trimmed = layout ? want - layout.geo.dblocks : 0;
    if (layout && layout.end <= layout.geo.dblocks) {
      const free = agStates(layout).reduce((s, st) => s + st.free.reduce((t, r) => t + r.length, 0), 0);
      if (free >= spare) return layout;
      want = Math.max(want + 8, want + spare - free + trimmed);
    } else want = Math.max(want + 8, layout ? layout.end + spare + trimmed : want * 2);
  }
  throw new Error('xfs: the filesystem size did not settle');
}

/** Streams a file's data into its extents, zero-padding each extent's last block. */
function writeFileData(w: BlockWriter, node: FileNode, extents: Extent[], hash: ReturnType<typeof createHash>): void {
  const content = node.content;
  for (const e of extents) {
    let block = e.physical;
    let carry = Buffer.alloc(0);
    for (const chunk of readRange(content, e.logical * BLOCK, Math.min((e.logical + e.length) * BLOCK, content.size))) {
      hash.update(chunk);
      const data = carry.length
        ? Buffer.concat([carry, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      const whole = data.length - (data.length % BLOCK);
      if (whole) w.write(block, data.subarray(0, whole));
      block += whole / BLOCK;
      carry = Buffer.from(data.subarray(whole));
    }
    if (carry.length) w.write(block, Buffer.concat([carry, Buffer.alloc(BLOCK - carry.length)]));
  }
}

interface Ctx {
  w: BlockWriter;
  layout: Layout;
  uuid: Buffer;
  ino: (i: Ino) => number;
}

/** Fills a directory/attribute block's self-describing header and its CRC. */
function sealDaBlock(data: Buffer, header: DirBlock['header'], at: number, owner: number, uuid: Buffer): void {
  if (header === 'dir3') {
    DIR3_DATA_HDR.encode({ blkno: at * SECTORS, uuid, owner }, data);
    sealCrc(data, DIR3_DATA_HDR.fields.crc[0]);
  } else {
    DA3_BLKINFO.encode({ blkno: at * SECTORS, uuid, owner }, data);
    sealCrc(data, DA3_BLKINFO.fields.crc[0]);
  }
}

function physicalOf(extents: Extent[], logical: number): number {
  for (const e of extents)
    if (logical >= e.logical && logical < e.logical + e.length) return e.physical + (logical - e.logical);
  throw new Error(`xfs: file block ${logical} unmapped`);
}

/** The data fork's bytes and format, writing the blocks it points to. */
function dataFork(
  c: Ctx,
  i: Ino,
  parent: Ino,
  byNode: Map<Node, Ino>,
): { format: number; bytes: Buffer; size: number } {
  const node = i.node;
  const own = c.ino(i);
  if (node.type === 'char' || node.type === 'block') {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(sysvEncodeDev(node.rdev));
    return { format: FMT.dev, bytes: b, size: 0 };
  }
  if (node.type === 'fifo' || node.type === 'socket') return { format: FMT.dev, bytes: Buffer.alloc(4), size: 0 };
  if (node.type === 'symlink' && !i.runs.length)
    return { format: FMT.local, bytes: Buffer.from(node.target), size: node.target.length };
  let size = fileSize(node);
  if (node.type === 'dir') {
    const d = dirForm(i, node, parent, byNode, c.ino);
    if (d.form === 'sf') return { format: FMT.local, bytes: d.fork, size: d.fork.length };
    for (const b of d.blocks) {
      const at = physicalOf(i.extents, b.dablk);
      sealDaBlock(b.data, b.header, at, own, c.uuid);
      c.w.write(at, b.data);
    }
    size = d.size;
  }
  if (node.type === 'symlink')
    c.w.write(i.extents[0].physical, symlinkBlock(node.target, i.extents[0].physical, own, c.uuid));
  const fork = buildFork(i.extents, i.room, i.bmbt, (b) => c.layout.geo.fsb(b));
  for (const b of fork.blocks) {
    LBTREE.encode({ blkno: b.at * SECTORS, uuid: c.uuid, owner: own }, b.data);
    sealCrc(b.data, LBTREE.fields.crc[0]);
    c.w.write(b.at, b.data);
  }
  return { format: fork.format === 'btree' ? FMT.btree : FMT.extents, bytes: fork.bytes, size };
}

function symlinkBlock(target: Uint8Array, at: number, owner: number, uuid: Buffer): Buffer {
  const b = Buffer.alloc(BLOCK);
  DSYMLINK_HDR.encode({ magic: SYMLINK_MAGIC, offset: 0, bytes: target.length, uuid, owner, blkno: at * SECTORS }, b);
  b.set(target, DSYMLINK_HDR.size);
  sealCrc(b, DSYMLINK_HDR.fields.crc[0]);
  return b;
}

/** The attribute fork's dabtree blocks from `at`, then its remote value blocks; returns their count. */
function writeAttrBlocks(c: Ctx, a: NonNullable<Ino['attrLeaf']>, at: number, owner: number): number {
  a.dabtree.forEach((b, k) => {
    sealDaBlock(b, 'da3', at + k, owner, c.uuid);
    c.w.write(at + k, b);
  });
  const first = at + a.dabtree.length;
  a.remote.forEach((b, k) => {
    ATTR3_RMT_HDR.encode({ uuid: c.uuid, owner, blkno: (first + k) * SECTORS }, b);
    sealCrc(b, ATTR3_RMT_HDR.fields.crc[0]);
    c.w.write(first + k, b);
  });
  return a.dabtree.length + a.remote.length;
}

/** The inode's bytes; writes its directory, symlink, bmbt and attribute blocks. */
function inodeBytes(c: Ctx, i: Ino, parent: Ino, byNode: Map<Node, Ino>): Buffer {
  const own = c.ino(i);
  const fork = dataFork(c, i, parent, byNode);
  let attr: Parameters<typeof encodeInode>[0]['attr'];
  const forkoff = i.room / 8;
  if (i.attrSf) attr = { forkoff, format: FMT.local, nextents: 0, fork: i.attrSf };
  const attrBlocks = i.attrLeaf ? writeAttrBlocks(c, i.attrLeaf, i.attrBlock, own) : 0;
  if (attrBlocks)
    attr = {
      forkoff,
      format: FMT.extents,
      nextents: 1,
      fork: buildFork([{ logical: 0, physical: i.attrBlock, length: attrBlocks }], LITERAL - i.room, [], (b) =>
        c.layout.geo.fsb(b),
      ).bytes,
    };
  const nblocks = i.extents.reduce((s, e) => s + e.length, 0) + i.bmbt.length + attrBlocks;
  return encodeInode({
    ino: own,
    uuid: c.uuid,
    mode: S_IF[i.node.type] | (i.node.mode & S_IALLUGO),
    format: fork.format,
    uid: i.node.uid,
    gid: i.node.gid,
    nlink: i.nlink,
    time: i.node.mtime,
    size: fork.size,
    nblocks,
    nextents: fork.format === FMT.extents || fork.format === FMT.btree ? i.extents.length : 0,
    flags: i.rtBitmap ? DIFLAG_NEWRTBM : 0,
    dataFork: fork.bytes,
    attr,
  });
}

/** Every inode chunk: the used inodes, then never-used ones. */
function writeInodes(c: Ctx, inodes: Ino[], parents: Map<Ino, Ino>, byNode: Map<Node, Ino>): void {
  c.layout.chunks.forEach((start, k) => {
    const chunk = Buffer.alloc(INODES_PER_CHUNK * INODE_SIZE);
    for (let s = 0; s < INODES_PER_CHUNK; s++) {
      const i = inodes[k * INODES_PER_CHUNK + s];
      const bytes = i
        ? inodeBytes(c, i, parents.get(i) ?? i, byNode)
        : freeInode(c.layout.geo.ino(start + Math.floor(s / INODES_PER_BLOCK), s % INODES_PER_BLOCK), c.uuid);
      bytes.copy(chunk, s * INODE_SIZE);
    }
    c.w.write(start, chunk);
  });
}

function parentsOf(inodes: Ino[], byNode: Map<Node, Ino>): Map<Ino, Ino> {
  const parents = new Map<Ino, Ino>();
  for (const i of inodes) {
    const subdirs = i.node.type === 'dir' ? [...i.node.entries.values()].filter((c) => c.type === 'dir') : [];
    for (const child of subdirs) parents.set(byNode.get(child)!, i);
  }
  return parents;
}

export function writeXfs(tree: Tree, out: ImageSink, o: XfsOptions): void {
  checkLimits(tree, XFS_LIMITS);
  const rt = makeNode('file', { mode: 0, mtime: o.epoch }, { content: { size: 0, pieces: [] } });
  const { inodes, byNode } = collectInodes(tree, rt);
  const parents = parentsOf(inodes, byNode);
  const dirBlocks = new Map<Ino, number[]>();
  for (const i of inodes) {
    if (i.node.type !== 'dir') continue;
    const d = dirForm(i, i.node, parents.get(i) ?? i, byNode, () => 0);
    if (d.form === 'blocks')
      dirBlocks.set(
        i,
        d.blocks.map((b) => b.dablk),
      );
  }
  const content =
    inodes.reduce((s, i) => s + i.runs.reduce((n, r) => n + r.length, 0) + (dirBlocks.get(i)?.length ?? 0), 0) * BLOCK;
  const layout = planLayout(inodes, dirBlocks, Math.ceil(bufferBytes(o.sizeBufferMb, content) / BLOCK));
  const { geo } = layout;
  const ino = (i: Ino) => {
    const start = layout.chunks[Math.floor(i.index / INODES_PER_CHUNK)];
    const s = i.index % INODES_PER_CHUNK;
    return geo.ino(start + Math.floor(s / INODES_PER_BLOCK), s % INODES_PER_BLOCK);
  };
  if (ino(inodes[inodes.length - 1]) > 0xffffffff)
    throw new Error('xfs: inode numbers past 32 bits are not written yet; the image is too large');
  const w = new BlockWriter(out, BLOCK);
  const contentHash = createHash('sha256');
  for (const i of inodes) if (i.node.type === 'file') writeFileData(w, i.node, i.extents, contentHash);
  const uuid = createHash('sha256')
    .update(shapeDigest(tree, 'xfs'))
    .update(contentHash.digest())
    .digest()
    .subarray(0, 16);
  uuid[6] = (uuid[6] & 0x0f) | 0x40; // shaped as a version-4 UUID
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  const c: Ctx = { w, layout, uuid, ino };
  writeInodes(c, inodes, parents, byNode);
  writeAgs(w, layout, {
    uuid,
    rootino: ino(inodes[0]),
    icount: layout.chunks.length * INODES_PER_CHUNK,
    inodes: inodes.length,
    preallocate: o.preallocate,
  });
  w.flush();
  out.setSize(geo.dblocks * BLOCK);
}
