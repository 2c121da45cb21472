// Directories in the four forms the kernel uses, chosen by size as it grows them
// (xfs_da_format.h; XFS book "Directories"; fs/xfs/libxfs/xfs_dir2_*.c):
// - short form: in the inode's data fork while it fits (xfs_dir2_sf_hdr + entries);
// - block: one 4 KiB block, entries then the hash-sorted leaf array and the tail;
// - leaf: data blocks, and one leaf1 block at 32 GiB holding every hash + the bests;
// - node: data blocks, leafn blocks under a dabtree (root node at 32 GiB, more levels
//   when one node cannot point at every leaf), free-index blocks at 64 GiB.
// Data entries: be64 inode, name length, name, file type, padding, be16 tag (the entry's
// own offset), 8-byte aligned. A leaf entry's address is (byte offset in the data
// section) / 8. Headers that need the block's disk address are filled when written.
import { daHash } from './dahash.js';
import {
  BLOCK,
  DA3_BLKINFO,
  DA3_NODE_HDR,
  DA3_NODE_MAGIC,
  DA_NODE_ENTRY,
  DIR2_BLOCK_TAIL,
  DIR2_FREE_OFFSET,
  DIR2_LEAF_ENTRY,
  DIR2_LEAF_OFFSET,
  DIR2_SF_HDR,
  DIR3_BLOCK_MAGIC,
  DIR3_DATA_HDR,
  DIR3_DATA_MAGIC,
  DIR3_FREE_HDR,
  DIR3_FREE_MAGIC,
  DIR3_LEAF1_MAGIC,
  DIR3_LEAF_HDR,
  DIR3_LEAFN_MAGIC,
} from './format.js';

export interface DirEntry {
  name: Buffer;
  ino: number;
  ftype: number;
}

/** A directory block at logical block `dablk`; `header` says how to seal it when placed. */
export interface DirBlock {
  dablk: number;
  data: Buffer;
  header: 'dir3' | 'da3';
}

export type DirForm = { form: 'sf'; fork: Buffer } | { form: 'blocks'; blocks: DirBlock[]; size: number };

const HDR = DIR3_DATA_HDR.size;
const LEAF_FIRST = DIR2_LEAF_OFFSET / BLOCK;
const FREE_FIRST = DIR2_FREE_OFFSET / BLOCK;
const LEAF_HDR = DIR3_LEAF_HDR.size;
/** hashes per leafn block, node entries per node block, bests per free block */
const LEAFN_ENTS = (BLOCK - LEAF_HDR) / 8;
const NODE_ENTS = (BLOCK - DA3_NODE_HDR.size) / 8;
const FREE_ENTS = (BLOCK - DIR3_FREE_HDR.size) / 2;

export const entrySize = (nameLen: number): number => Math.ceil((nameLen + 12) / 8) * 8;

/** Short form, or null when it does not fit in `room` bytes of the inode. */
function shortForm(entries: DirEntry[], parent: number, room: number): Buffer | null {
  const size = DIR2_SF_HDR.size + entries.reduce((s, e) => s + 8 + e.name.length, 0);
  if (size > room) return null;
  const b = Buffer.alloc(size);
  DIR2_SF_HDR.encode({ count: entries.length, i8count: 0, parent }, b);
  let at = DIR2_SF_HDR.size;
  let offset = HDR + entrySize(1) + entrySize(2);
  for (const e of entries) {
    b[at] = e.name.length;
    b.writeUInt16BE(offset, at + 1);
    e.name.copy(b, at + 3);
    b[at + 3 + e.name.length] = e.ftype;
    b.writeUInt32BE(e.ino, at + 4 + e.name.length);
    at += 8 + e.name.length;
    offset += entrySize(e.name.length);
  }
  return b;
}

function putEntry(b: Buffer, at: number, e: DirEntry): number {
  const size = entrySize(e.name.length);
  b.writeBigUInt64BE(BigInt(e.ino), at);
  b[at + 8] = e.name.length;
  e.name.copy(b, at + 9);
  b[at + 9 + e.name.length] = e.ftype;
  b.writeUInt16BE(at, at + size - 2);
  return size;
}

/** An unused region [at, end): freetag 0xffff, its length, its offset in the last 2 bytes. */
function putUnused(b: Buffer, at: number, end: number): void {
  if (end <= at) return;
  b.writeUInt16BE(0xffff, at);
  b.writeUInt16BE(end - at, at + 2);
  b.writeUInt16BE(at, end - 2);
  DIR3_DATA_HDR.encode({ best0_offset: at, best0_length: end - at }, b);
}

interface Placed {
  hash: number;
  address: number;
}

/** Data blocks filled in order, each up to `limit` bytes; returns blocks and leaf entries. */
function dataBlocks(
  all: DirEntry[],
  limit: (db: number) => number,
  magic: number,
): { blocks: Buffer[]; leaves: Placed[]; best: number[] } {
  const blocks: Buffer[] = [];
  const leaves: Placed[] = [];
  let b = Buffer.alloc(0);
  let at = 0;
  const close = () => {
    if (blocks.length) putUnused(b, at, limit(blocks.length - 1));
  };
  for (const e of all) {
    if (!blocks.length || at + entrySize(e.name.length) > limit(blocks.length - 1)) {
      close();
      b = Buffer.alloc(BLOCK);
      DIR3_DATA_HDR.encode({ magic }, b);
      blocks.push(b);
      at = HDR;
    }
    leaves.push({ hash: daHash(e.name), address: ((blocks.length - 1) * BLOCK + at) / 8 });
    at += putEntry(b, at, e);
  }
  close();
  return { blocks, leaves, best: blocks.map((x) => DIR3_DATA_HDR.decode(x).best0_length) };
}

const byHash = (a: Placed, b: Placed) => a.hash - b.hash || a.address - b.address;

function putLeafEntries(b: Buffer, at: number, leaves: Placed[]): void {
  leaves.forEach((l, k) => DIR2_LEAF_ENTRY.encode({ hashval: l.hash, address: l.address }, b, at + 8 * k));
}

function blockForm(all: DirEntry[]): DirBlock[] | null {
  const used = HDR + all.reduce((s, e) => s + entrySize(e.name.length), 0);
  const leafAt = BLOCK - DIR2_BLOCK_TAIL.size - all.length * 8;
  if (used > leafAt) return null;
  const { blocks, leaves } = dataBlocks(all, () => leafAt, DIR3_BLOCK_MAGIC);
  const b = blocks[0];
  putLeafEntries(b, leafAt, leaves.sort(byHash));
  DIR2_BLOCK_TAIL.encode({ count: all.length, stale: 0 }, b, BLOCK - DIR2_BLOCK_TAIL.size);
  return [{ dablk: 0, data: b, header: 'dir3' }];
}

function leafHeader(magic: number, count: number, forw = 0, back = 0): Buffer {
  const b = Buffer.alloc(BLOCK);
  DA3_BLKINFO.encode({ magic, forw, back }, b);
  DIR3_LEAF_HDR.encode({ count, stale: 0 }, b);
  return b;
}

function leafForm(all: DirEntry[]): DirBlock[] | null {
  const { blocks, leaves, best } = dataBlocks(all, () => BLOCK, DIR3_DATA_MAGIC);
  if (LEAF_HDR + leaves.length * 8 + best.length * 2 + 4 > BLOCK) return null;
  const leaf = leafHeader(DIR3_LEAF1_MAGIC, leaves.length);
  putLeafEntries(leaf, LEAF_HDR, leaves.sort(byHash));
  best.forEach((v, k) => leaf.writeUInt16BE(v, BLOCK - 4 - (best.length - k) * 2));
  leaf.writeUInt32BE(best.length, BLOCK - 4);
  const out: DirBlock[] = blocks.map((data, k) => ({ dablk: k, data, header: 'dir3' }));
  out.push({ dablk: LEAF_FIRST, data: leaf, header: 'da3' });
  return out;
}

/** Splits n items into `parts` runs as even as possible (btree blocks at least half full). */
export function evenSplit(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor((n * (k + 1)) / parts) - Math.floor((n * k) / parts));
}

interface Child {
  dablk: number;
  /** the largest hash under it */
  hash: number;
}

/** leafn blocks from LEAF_FIRST + 1 on, hashes spread evenly, siblings linked */
function leafnBlocks(leaves: Placed[], out: DirBlock[]): Child[] {
  const nleaf = Math.ceil(leaves.length / LEAFN_ENTS);
  let from = 0;
  return evenSplit(leaves.length, nleaf).map((n, k) => {
    const dablk = LEAF_FIRST + 1 + k;
    const leaf = leafHeader(DIR3_LEAFN_MAGIC, n, k + 1 < nleaf ? dablk + 1 : 0, k ? dablk - 1 : 0);
    putLeafEntries(leaf, LEAF_HDR, leaves.slice(from, from + n));
    from += n;
    out.push({ dablk, data: leaf, header: 'da3' });
    return { dablk, hash: leaves[from - 1].hash };
  });
}

function nodeBlock(children: Child[], level: number, forw: number, back: number): Buffer {
  const node = Buffer.alloc(BLOCK);
  DA3_BLKINFO.encode({ magic: DA3_NODE_MAGIC, forw, back }, node);
  DA3_NODE_HDR.encode({ count: children.length, level }, node);
  children.forEach((c, k) =>
    DA_NODE_ENTRY.encode({ hashval: c.hash, before: c.dablk }, node, DA3_NODE_HDR.size + 8 * k),
  );
  return node;
}

/** Interior dabtree levels over `children` until one node holds them: the root, at LEAF_FIRST. */
function nodeLevels(children: Child[], next: number, out: DirBlock[]): void {
  let level = 1;
  while (children.length > NODE_ENTS) {
    const count = Math.ceil(children.length / NODE_ENTS);
    const first = next;
    let from = 0;
    children = evenSplit(children.length, count).map((n, k) => {
      const part = children.slice(from, (from += n));
      out.push({
        dablk: first + k,
        data: nodeBlock(part, level, k + 1 < count ? first + k + 1 : 0, k ? first + k - 1 : 0),
        header: 'da3',
      });
      return { dablk: first + k, hash: part[part.length - 1].hash };
    });
    next += count;
    level++;
  }
  out.push({ dablk: LEAF_FIRST, data: nodeBlock(children, level, 0, 0), header: 'da3' });
}

function freeBlocks(best: number[], out: DirBlock[]): void {
  for (let f = 0; f * FREE_ENTS < best.length; f++) {
    const part = best.slice(f * FREE_ENTS, (f + 1) * FREE_ENTS);
    const free = Buffer.alloc(BLOCK);
    DIR3_FREE_HDR.encode(
      { magic: DIR3_FREE_MAGIC, firstdb: f * FREE_ENTS, nvalid: part.length, nused: part.length },
      free,
    );
    part.forEach((v, k) => free.writeUInt16BE(v, DIR3_FREE_HDR.size + 2 * k));
    out.push({ dablk: FREE_FIRST + f, data: free, header: 'dir3' });
  }
}

function nodeForm(all: DirEntry[]): DirBlock[] {
  const { blocks, leaves, best } = dataBlocks(all, () => BLOCK, DIR3_DATA_MAGIC);
  leaves.sort(byHash);
  const out: DirBlock[] = blocks.map((data, k) => ({ dablk: k, data, header: 'dir3' }));
  const children = leafnBlocks(leaves, out);
  nodeLevels(children, LEAF_FIRST + 1 + children.length, out);
  freeBlocks(best, out);
  return out.sort((a, b) => a.dablk - b.dablk);
}

/** The directory in the smallest form that holds it; `room` is the data fork's size. */
export function directory(entries: DirEntry[], self: number, parent: number, room: number): DirForm {
  const sf = shortForm(entries, parent, room);
  if (sf) return { form: 'sf', fork: sf };
  const dots = [
    { name: Buffer.from('.'), ino: self, ftype: 2 },
    { name: Buffer.from('..'), ino: parent, ftype: 2 },
  ];
  const all = [...dots, ...entries];
  const blocks = blockForm(all) ?? leafForm(all) ?? nodeForm(all);
  const dataCount = blocks.filter((b) => b.dablk < LEAF_FIRST).length;
  return { form: 'blocks', blocks, size: dataCount * BLOCK };
}
