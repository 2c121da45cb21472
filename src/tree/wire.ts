// A tree as one byte buffer, for handing it to a worker thread (src/pipeline/fs-worker.ts)
// without a structured clone: a clone copies every node with its own xattr Map, mtime
// object and file-path strings (about 600 bytes an entry); this encoding is about 40
// bytes an entry plus the names, goes over as a transferred ArrayBuffer, and the tree
// decoded from it shares what the writers only read: NO_XATTRS, equal mtimes,
// one string per blob path. A hard link stays one node.
//
// Layout (little-endian): u32 where the path table starts, the root node, the path table.
// Nodes depth first, a directory's entries in byte order of names:
//   node   := u8 tag (NEW | LINK) ; LINK: u32 id of a node met before
//   NEW    := u8 type, u32 mode, u32 uid, u32 gid, f64 sec, u32 nsec, u16 xattrs
//             { bytes name, bytes value } , then by type:
//             file: f64 size, u32 pieces { f64 at, f64 length, u8 kind,
//                   bytes (kind 0) | u32 path index, f64 from (kind 1) }
//             symlink: bytes target; char/block: u32 major, u32 minor
//             dir: u32 count { bytes name, node }
//   bytes  := u32 length, the bytes
// path table := u32 count { bytes utf8 }. Ids count NEW nodes from 0.
import { type Content, FileRegion, type Piece } from './content.js';
import { type DirNode, NO_XATTRS, type Node, type NodeType, sortedEntries, type Time, Tree } from './tree.js';

const TYPES: NodeType[] = ['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket'];
const NEW = 0;
const LINK = 1;

/** Typed appends to a buffer of the exact size; without one it only counts the bytes (the
 *  first of encodeTree's two passes), so no outgrown copies are left for the GC of an
 *  idle main thread to find (they were twice the tree's bytes). */
class Writer {
  at = 0;
  constructor(readonly buf?: Buffer) {}

  u8(v: number): void {
    if (this.buf) this.buf[this.at] = v;
    this.at += 1;
  }
  u16(v: number): void {
    this.buf?.writeUInt16LE(v, this.at);
    this.at += 2;
  }
  u32(v: number): void {
    this.buf?.writeUInt32LE(v, this.at);
    this.at += 4;
  }
  f64(v: number): void {
    this.buf?.writeDoubleLE(v, this.at);
    this.at += 8;
  }
  /** An entry key's bytes (latin1: one byte a char), as `bytes` writes them, without a Buffer of their own. */
  key(k: string): void {
    this.buf?.writeUInt32LE(k.length, this.at);
    this.buf?.write(k, this.at + 4, 'latin1');
    this.at += 4 + k.length;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.buf?.set(b, this.at);
    this.at += b.length;
  }
}

/**
 * The tree's bytes (an ArrayBuffer of its own, of their exact size, to be transferred).
 * `files`, when given, gets every file's content in the order of the encoding — walk
 * order, a hard-linked file at its first name only — which is the ext4 writer's inode
 * order (src/ext4/plan.ts), the order the main thread hashes them in (src/pipeline/ext4-handoff.ts).
 */
export function encodeTree(tree: Tree, files?: Content[]): ArrayBuffer {
  const count = new Writer();
  encodeInto(count, tree, undefined);
  const bytes = new ArrayBuffer(count.at);
  const table = encodeInto(new Writer(Buffer.from(bytes)), tree, files);
  new DataView(bytes).setUint32(0, table, true);
  return bytes;
}

/** Writes the tree; returns where the path table starts (the first u32, left 0 here). */
function encodeInto(w: Writer, tree: Tree, files: Content[] | undefined): number {
  w.u32(0);
  const ids = new Map<Node, number>();
  const paths = new Map<string, number>();
  // one frame per directory level: its sorted entries and the next one to write
  const stack: Array<{ entries: Array<[string, Node]>; next: number }> = [];
  const visit = (node: Node): void => {
    const id = ids.get(node);
    if (id !== undefined) {
      w.u8(LINK);
      w.u32(id);
      return;
    }
    ids.set(node, ids.size);
    w.u8(NEW);
    encodeAttrs(w, node, paths);
    if (node.type === 'file') files?.push(node.content);
    if (node.type !== 'dir') return;
    w.u32(node.entries.size);
    stack.push({ entries: sortedEntries(node), next: 0 });
  };
  visit(tree.root);
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const entry = top.entries[top.next++];
    if (!entry) {
      stack.pop();
      continue;
    }
    w.key(entry[0]);
    visit(entry[1]);
  }
  const table = w.at;
  w.u32(paths.size);
  for (const p of paths.keys()) w.bytes(Buffer.from(p, 'utf8'));
  return table;
}

/** Everything of a node but a directory's entries. */
function encodeAttrs(w: Writer, node: Node, paths: Map<string, number>): void {
  w.u8(TYPES.indexOf(node.type));
  w.u32(node.mode);
  w.u32(node.uid);
  w.u32(node.gid);
  w.f64(node.mtime.sec);
  w.u32(node.mtime.nsec);
  w.u16(node.xattrs.size);
  for (const [k, v] of node.xattrs) {
    w.bytes(Buffer.from(k, 'latin1'));
    w.bytes(v);
  }
  if (node.type === 'file') {
    const c = node.content;
    w.f64(c.size);
    if (c instanceof FileRegion) {
      // its one piece, written without making it (FileRegion makes its pieces when asked)
      w.u32(1);
      encodeFilePiece(w, 0, c.size, c.file, c.from, paths);
      return;
    }
    w.u32(c.pieces.length);
    for (const p of c.pieces) encodePiece(w, p, paths);
  } else if (node.type === 'symlink') w.bytes(node.target);
  else if (node.type === 'char' || node.type === 'block') {
    w.u32(node.rdev.major);
    w.u32(node.rdev.minor);
  }
}

function encodePiece(w: Writer, p: Piece, paths: Map<string, number>): void {
  if ('bytes' in p) {
    w.f64(p.at);
    w.f64(p.length);
    w.u8(0);
    w.bytes(p.bytes);
    return;
  }
  encodeFilePiece(w, p.at, p.length, p.file, p.from, paths);
}

function encodeFilePiece(
  w: Writer,
  at: number,
  length: number,
  file: string,
  from: number,
  paths: Map<string, number>,
): void {
  let index = paths.get(file);
  if (index === undefined) paths.set(file, (index = paths.size));
  w.f64(at);
  w.f64(length);
  w.u8(1);
  w.u32(index);
  w.f64(from);
}

/** Reads what Writer wrote; `bytes` are views of the buffer, `copy` copies (what the
 *  decoded tree keeps is copied, so the buffer can go once it is decoded). */
class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}
  u8(): number {
    return this.buf[this.at++];
  }
  u16(): number {
    this.at += 2;
    return this.buf.readUInt16LE(this.at - 2);
  }
  u32(): number {
    this.at += 4;
    return this.buf.readUInt32LE(this.at - 4);
  }
  f64(): number {
    this.at += 8;
    return this.buf.readDoubleLE(this.at - 8);
  }
  /** An f64 that is a whole number, as a small integer when it fits one: a double read
   *  is a heap number (16 bytes, and a field holding one is boxed in every object of
   *  that shape), while the tree that was encoded holds small integers. */
  int(): number {
    const v = this.f64();
    return (v | 0) === v ? v | 0 : v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.at += n;
    return this.buf.subarray(this.at - n, this.at);
  }
  copy(): Buffer {
    return Buffer.from(this.bytes());
  }
}

/** What decoded nodes share (see the top of this file): read-only, like the writers that get them. */
interface Shared {
  /** the last mtime decoded: entries of one folder often have the same */
  time: Time;
  paths: string[];
}

/** The tree of encodeTree's bytes, its nodes sharing the read-only parts (see above). */
export function decodeTree(bytes: ArrayBuffer): Tree {
  const r = new Reader(Buffer.from(bytes));
  const shared: Shared = { time: { sec: 0, nsec: 0 }, paths: [] };
  r.at = r.u32();
  for (let k = r.u32(); k > 0; k--) shared.paths.push(r.bytes().toString('utf8'));
  r.at = 4;
  const nodes: Node[] = [];
  const stack: Array<{ dir: DirNode; left: number }> = [];
  const read = (): Node => {
    if (r.u8() === LINK) return nodes[r.u32()];
    const node = decodeNode(r, shared);
    nodes.push(node);
    if (node.type === 'dir') stack.push({ dir: node, left: r.u32() });
    return node;
  };
  const tree = Object.assign(Object.create(Tree.prototype) as Tree, { root: read() });
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    if (!top.left) {
      stack.pop();
      continue;
    }
    top.left--;
    const dir = top.dir;
    tree.add(dir, r.bytes().toString('latin1'), read());
  }
  return tree;
}

/** One node, built as a literal of its type's shape (no per-node Map when it has no xattrs). */
function decodeNode(r: Reader, shared: Shared): Node {
  const type = TYPES[r.u8()];
  const mode = r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const sec = r.int();
  const nsec = r.u32();
  if (shared.time.sec !== sec || shared.time.nsec !== nsec) shared.time = { sec, nsec };
  const mtime = shared.time;
  const count = r.u16();
  const xattrs = count ? decodeXattrs(r, count) : NO_XATTRS;
  switch (type) {
    case 'file': {
      const size = r.int();
      const pieces = decodePieces(r, shared.paths);
      return { type, mode, uid, gid, mtime, xattrs, content: compactContent(size, pieces) };
    }
    case 'dir':
      return { type, mode, uid, gid, mtime, xattrs, entries: new Map() };
    case 'symlink':
      return { type, mode, uid, gid, mtime, xattrs, target: r.copy() };
    case 'char':
    case 'block':
      return { type, mode, uid, gid, mtime, xattrs, rdev: { major: r.u32(), minor: r.u32() } };
    default:
      return { type, mode, uid, gid, mtime, xattrs };
  }
}

/** A file's content, as a FileRegion when it is one region of a file from its first byte. */
function compactContent(size: number, pieces: Piece[]): Content {
  const p = pieces[0];
  if (pieces.length === 1 && 'file' in p && p.at === 0 && p.length === size)
    return new FileRegion(size, p.file, p.from);
  return { size, pieces };
}

function decodeXattrs(r: Reader, count: number): Map<string, Uint8Array> {
  const xattrs = new Map<string, Uint8Array>();
  for (let k = 0; k < count; k++) xattrs.set(r.bytes().toString('latin1'), r.copy());
  return xattrs;
}

/** A file's pieces in an array of exactly their number (Array.from and push leave
 *  room for 16 more: 136 bytes a file). */
function decodePieces(r: Reader, paths: string[]): Piece[] {
  const count = r.u32();
  const pieces = new Array<Piece>(count);
  for (let k = 0; k < count; k++) pieces[k] = decodePiece(r, paths);
  return pieces;
}

function decodePiece(r: Reader, paths: string[]): Piece {
  const at = r.int();
  const length = r.int();
  if (r.u8() === 0) return { at, length, bytes: r.copy() };
  return { at, length, file: paths[r.u32()], from: r.int() };
}
