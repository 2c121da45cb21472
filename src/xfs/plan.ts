// What the image holds and where: inodes in walk order (root first, then mkfs's realtime
// bitmap and summary inodes, then every other node once — a hard link is one inode), what
// each needs (directory form, data runs, symlink block, attribute fork), and a layout for
// a filesystem of a given size: inode chunks first from AG 0's first chunk, then
// directory, symlink, data, bmbt and attribute blocks in inode order.
import { dataBlockRuns } from '../tree/content.js';
import {
  type DirNode,
  type FileNode,
  keyBytes,
  linkCounts,
  type Node,
  sortedEntries,
  type Tree,
} from '../tree/tree.js';
import { bmbtBlocks, type Extent, MAX_EXTLEN } from './bmap.js';
import { type BtreeShape, levelCounts } from './btree.js';
import { type DirEntry, type DirForm, directory } from './dir.js';
import { BLOCK, CHUNK_BLOCKS, INODES_PER_CHUNK, LITERAL, MAGIC } from './format.js';
import { Allocator, Geometry, type Run } from './geometry.js';
import { type Attr, attrBlocks, attrsOf, shortFormAttrs } from './xattr.js';

export const INOBT: BtreeShape = { magic: MAGIC.ino, recSize: 16, keySize: 4, ptrSize: 4 };
const FTYPE: Record<Node['type'], number> = { file: 1, dir: 2, char: 3, block: 4, fifo: 5, socket: 6, symlink: 7 };

export interface Ino {
  index: number;
  node: Node;
  nlink: number;
  attrSf?: Buffer;
  attrLeaf?: { dabtree: Buffer[]; remote: Buffer[] };
  /** bytes of the inode's literal area the data fork may use */
  room: number;
  /** regular file: file blocks holding data (the rest are holes); others: block count */
  runs: Run[];
  /** the realtime bitmap inode (mkfs's flag) */
  rtBitmap?: boolean;
  // from the layout:
  extents: Extent[];
  bmbt: number[];
  /** first of the attribute fork's blocks (leaf, then remote values), linear; 0: none */
  attrBlock: number;
}

/** Logical blocks of a file's content that hold data. */
function dataRuns(node: FileNode): Run[] {
  return dataBlockRuns(node.content, BLOCK);
}

/** `where` names the entry in an error (built only then: deep paths are long). */
function newIno(index: number, node: Node, nlink: number, where: () => string): Ino {
  const i: Ino = { index, node, nlink, room: LITERAL, runs: [], extents: [], bmbt: [], attrBlock: 0 };
  const attrs: Attr[] = attrsOf(node.xattrs, where);
  if (attrs.length) {
    const sf = shortFormAttrs(attrs);
    if (sf) i.attrSf = sf;
    else i.attrLeaf = attrBlocks(attrs, where);
    const dev = node.type !== 'file' && node.type !== 'dir' && node.type !== 'symlink';
    i.room = dev ? 8 : LITERAL - (i.attrSf ? i.attrSf.length : 16);
  }
  if (node.type === 'file') i.runs = dataRuns(node);
  if (node.type === 'symlink') {
    if (node.target.length > i.room) i.runs = [{ start: 0, length: 1 }];
  }
  return i;
}

/** Every inode, in the order their numbers are given. */
export function collectInodes(tree: Tree, epochNode: Node): { inodes: Ino[]; byNode: Map<Node, Ino> } {
  const counts = linkCounts(tree);
  const byNode = new Map<Node, Ino>();
  const inodes: Ino[] = [];
  const add = (node: Node, nlink: number, where: () => string) => {
    const i = newIno(inodes.length, node, nlink, where);
    inodes.push(i);
    return i;
  };
  byNode.set(
    tree.root,
    add(tree.root, counts.get(tree.root)!, () => '/'),
  );
  add(epochNode, 1, () => 'realtime bitmap').rtBitmap = true;
  add({ ...epochNode }, 1, () => 'realtime summary');
  for (const { path, node } of tree.walk()) {
    if (byNode.has(node)) continue;
    byNode.set(
      node,
      add(node, counts.get(node)!, () => `/${path.toString('utf8')}`),
    );
  }
  return { inodes, byNode };
}

/** The entries of directory `dir` (inode i; names in byte order) with the inode numbers `ino` gives. */
export function dirForm(i: Ino, dir: DirNode, parent: Ino, byNode: Map<Node, Ino>, ino: (x: Ino) => number): DirForm {
  const entries: DirEntry[] = sortedEntries(dir).map(([k, child]) => ({
    name: keyBytes(k),
    ino: ino(byNode.get(child)!),
    ftype: FTYPE[child.type],
  }));
  return directory(entries, ino(i), ino(parent), i.room);
}

export interface Layout {
  geo: Geometry;
  /** linear block of each inode chunk */
  chunks: number[];
  /** per AG: extra inobt blocks (non-root), linear */
  inobtExtra: number[][];
  gaps: Run[];
  end: number;
}

/** inobt blocks beyond the root for `chunks` records */
export const inobtExtra = (chunks: number) => levelCounts(INOBT, chunks).reduce((a, b) => a + b, 0) - 1;

function allocChunks(geo: Geometry, alloc: Allocator, count: number): { chunks: number[]; extra: number[][] } {
  const chunks: number[] = [];
  const extra: number[][] = Array.from({ length: geo.agcount }, () => []);
  const perAg = new Array<number>(geo.agcount).fill(0);
  const agOf = (b: number) => Math.floor(b / geo.agblocks);
  const finish = (a: number) => {
    const n = inobtExtra(perAg[a]);
    if (n) extra[a] = alloc.runs(n).flatMap((r) => Array.from({ length: r.length }, (_, k) => r.start + k));
  };
  for (let c = 0; c < count; c++) {
    const a = agOf(alloc.next);
    if (a >= geo.agcount) throw new RangeError('inodes do not fit');
    if (alloc.leftInAg() < CHUNK_BLOCKS * 2 + inobtExtra(perAg[a] + 1)) {
      finish(a);
      alloc.nextAg();
      c--;
      continue;
    }
    chunks.push(alloc.contiguous(CHUNK_BLOCKS, CHUNK_BLOCKS));
    perAg[agOf(chunks[c])]++;
  }
  finish(agOf(chunks[count - 1]));
  return { chunks, extra };
}

/** Maps file blocks onto allocated runs, extents no longer than MAX_EXTLEN. */
function mapRuns(alloc: Allocator, logical: number, length: number, out: Extent[]): void {
  for (const r of alloc.runs(length)) {
    for (let o = 0; o < r.length; o += MAX_EXTLEN)
      out.push({ logical: logical + o, physical: r.start + o, length: Math.min(MAX_EXTLEN, r.length - o) });
    logical += r.length;
  }
}

/** Lays everything out in a filesystem of `dblocks`; `end` is one past the last block used. */
export function allocate(inodes: Ino[], dirBlocks: Map<Ino, number[]>, dblocks: number): Layout {
  const geo = new Geometry(dblocks);
  const alloc = new Allocator(geo);
  const { chunks, extra } = allocChunks(geo, alloc, Math.ceil(inodes.length / INODES_PER_CHUNK));
  for (const i of inodes) {
    i.extents = [];
    const dablks = dirBlocks.get(i);
    if (dablks) mapDirBlocks(alloc, dablks, i.extents);
    for (const r of i.runs) mapRuns(alloc, r.start, r.length, i.extents);
    const n = bmbtBlocks(i.extents.length, i.room);
    i.bmbt = n ? alloc.runs(n).flatMap((r) => Array.from({ length: r.length }, (_, k) => r.start + k)) : [];
    i.attrBlock = i.attrLeaf ? alloc.contiguous(i.attrLeaf.dabtree.length + i.attrLeaf.remote.length) : 0;
  }
  return { geo, chunks, inobtExtra: extra, gaps: alloc.gaps, end: alloc.next };
}

/** Places a directory's blocks (logical numbers `dablks`, in order) one after another. */
function mapDirBlocks(alloc: Allocator, dablks: number[], out: Extent[]): void {
  let k = 0;
  for (const r of alloc.runs(dablks.length))
    for (let o = 0; o < r.length; o++, k++) pushBlock(out, dablks[k], r.start + o);
}

/** Adds one block to an extent list, growing the last extent when both sides continue it. */
function pushBlock(extents: Extent[], logical: number, physical: number): void {
  const last = extents[extents.length - 1];
  if (
    last &&
    last.logical + last.length === logical &&
    last.physical + last.length === physical &&
    last.length < MAX_EXTLEN
  )
    last.length++;
  else extents.push({ logical, physical, length: 1 });
}
