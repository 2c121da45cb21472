// The tree: the one in-memory model of a filesystem that every source builds and
// every writer reads. A Node is an inode; a directory maps names to nodes, so a hard
// link is simply the same Node under two names. Names are bytes: a directory keys its
// entries by the name's bytes as a latin1 string (one char per byte), which keeps
// non-UTF-8 names exact and makes plain string order equal to byte order (strcmp).
import { createHash, type Hash } from 'node:crypto';
import { BuildError } from '../errors.js';
import type { Content } from './content.js';

export interface Time {
  sec: number;
  nsec: number;
}

export interface Rdev {
  major: number;
  minor: number;
}

/** What every inode has, whatever its type. */
interface NodeBase {
  /** permission and special bits only (0o7777) */
  mode: number;
  uid: number;
  gid: number;
  mtime: Time;
  /** name → value bytes, e.g. "security.capability"; read-only: a node without xattrs
   *  shares NO_XATTRS, so change them with setXattr (or put a new Map in its place) */
  xattrs: ReadonlyMap<string, Uint8Array>;
}

export interface FileNode extends NodeBase {
  type: 'file';
  content: Content;
}

export interface DirNode extends NodeBase {
  type: 'dir';
  /** name key (latin1 of the UTF-8 bytes) → node; changed only through Tree's methods */
  readonly entries: ReadonlyMap<string, Node>;
}

export interface SymlinkNode extends NodeBase {
  type: 'symlink';
  /** the target bytes */
  target: Uint8Array;
}

export interface DeviceNode extends NodeBase {
  type: 'char' | 'block';
  rdev: Rdev;
}

export interface SpecialNode extends NodeBase {
  type: 'fifo' | 'socket';
}

/** One inode, by type: `switch (node.type)` narrows to the fields that type has. A hard
 *  link is no variant of its own: it is the same Node under several names. */
export type Node = FileNode | DirNode | SymlinkNode | DeviceNode | SpecialNode;

export type NodeType = Node['type'];

/** What a non-directory needs besides its attributes, by type. */
export interface NodeData {
  content?: Content;
  target?: Uint8Array;
  rdev?: Rdev;
}

export type Attrs = Partial<Pick<NodeBase, 'mode' | 'uid' | 'gid' | 'mtime'>>;

export type PathLike = string | Uint8Array;

const EMPTY: Content = { size: 0, pieces: [] };

/** A Map that cannot change: the one empty xattr container every node without xattrs
 *  shares (an empty Map of its own costs 184 bytes a node, a third of the tree). */
class EmptyXattrs extends Map<string, Uint8Array> {
  override set(): never {
    throw new Error('NO_XATTRS is shared by every node without xattrs: use setXattr(node, name, value)');
  }
  override delete(): boolean {
    return false;
  }
  override clear(): void {}
}

/** The xattrs of every node that has none. */
export const NO_XATTRS: ReadonlyMap<string, Uint8Array> = Object.freeze(new EmptyXattrs());

/** Sets one xattr of node, giving it a Map of its own when it shared NO_XATTRS. */
export function setXattr(node: Node, name: string, value: Uint8Array): void {
  const own = node.xattrs === NO_XATTRS ? new Map<string, Uint8Array>() : (node.xattrs as Map<string, Uint8Array>);
  own.set(name, value);
  node.xattrs = own;
}

/** A node's xattrs taken from another's: NO_XATTRS when there are none, else a copy. */
export function copyXattrs(xattrs: ReadonlyMap<string, Uint8Array>): ReadonlyMap<string, Uint8Array> {
  return xattrs.size ? new Map(xattrs) : NO_XATTRS;
}

/**
 * A new node of `type`: a directory with no entries, a file with `data.content` (empty
 * when not given), a symlink with `data.target`, a device with `data.rdev`.
 */
export function makeNode(type: 'dir', attrs?: Attrs): DirNode;
export function makeNode(type: 'file', attrs?: Attrs, data?: { content?: Content }): FileNode;
export function makeNode(type: 'symlink', attrs: Attrs, data: { target: Uint8Array }): SymlinkNode;
export function makeNode(type: 'char' | 'block', attrs: Attrs, data: { rdev: Rdev }): DeviceNode;
export function makeNode(type: 'fifo' | 'socket', attrs?: Attrs): SpecialNode;
export function makeNode(type: NodeType, attrs?: Attrs, data?: NodeData): Node;
export function makeNode(type: NodeType, attrs: Attrs = {}, data: NodeData = {}): Node {
  // each type's object written out whole, not spread from a common part: an object
  // literal gets exactly its fields in-object (a tree holds one per entry)
  const mode = attrs.mode ?? (type === 'dir' ? 0o755 : 0o644);
  const uid = attrs.uid ?? 0;
  const gid = attrs.gid ?? 0;
  const mtime = attrs.mtime ?? { sec: 0, nsec: 0 };
  const xattrs = NO_XATTRS;
  switch (type) {
    case 'dir':
      return { type, mode, uid, gid, mtime, xattrs, entries: new Map() };
    case 'file':
      return { type, mode, uid, gid, mtime, xattrs, content: data.content ?? EMPTY };
    case 'symlink':
      if (!data.target) throw new Error('a symlink node needs its target');
      return { type, mode, uid, gid, mtime, xattrs, target: data.target };
    case 'char':
    case 'block':
      if (!data.rdev) throw new Error(`a ${type} device node needs its device numbers`);
      return { type, mode, uid, gid, mtime, xattrs, rdev: data.rdev };
    default:
      return { type, mode, uid, gid, mtime, xattrs };
  }
}

/** The data of a node (content, target or device numbers), for a copy of it. */
export function nodeData(node: Node): NodeData {
  switch (node.type) {
    case 'file':
      return { content: node.content };
    case 'symlink':
      return { target: node.target };
    case 'char':
    case 'block':
      return { rdev: node.rdev };
    default:
      return {};
  }
}

/** The data of a node as a file's content: a file's own, none (0 bytes) for anything else. */
export function contentOf(node: Node): Content {
  return node.type === 'file' ? node.content : EMPTY;
}

/** The file size of a node as the stat of a file reports it: content for files, target for symlinks, else 0. */
export function fileSize(node: Node): number {
  return node.type === 'file' ? node.content.size : node.type === 'symlink' ? node.target.length : 0;
}

/** The entries of a directory for change: only the Tree's methods call this. */
function entriesOf(dir: DirNode): Map<string, Node> {
  return dir.entries as Map<string, Node>;
}

/** The entry key of a name given as text (UTF-8) or bytes. */
export function nameKey(name: PathLike): string {
  return Buffer.from(typeof name === 'string' ? Buffer.from(name, 'utf8') : name).toString('latin1');
}

/** The bytes of an entry key. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** Splits a path ("/a/b", "a/b/", "./a") into entry keys; "." parts are dropped. */
export function pathKeys(path: PathLike): string[] {
  return nameKey(path)
    .split('/')
    .filter((k) => k !== '' && k !== '.');
}

export class Tree {
  readonly root: DirNode;

  constructor(rootAttrs: Attrs = {}) {
    this.root = makeNode('dir', rootAttrs);
  }

  /** The node at path, not following symlinks; undefined when absent. */
  get(path: PathLike): Node | undefined {
    return this.getKeys(pathKeys(path));
  }

  /** The node at the path of these entry keys (no "." or empty ones), not following symlinks; undefined when absent. */
  getKeys(keys: readonly string[]): Node | undefined {
    let node: Node | undefined = this.root;
    for (const k of keys) {
      node = node.type === 'dir' ? node.entries.get(k) : undefined;
      if (!node) return undefined;
    }
    return node;
  }

  /**
   * The directory at path, created with `attrs` (and its missing parents) when absent.
   * Throws when a non-directory is in the way.
   */
  mkdirp(path: PathLike, attrs: Attrs = {}): DirNode {
    return this.mkdirpKeys(pathKeys(path), attrs);
  }

  /** mkdirp for the path of these entry keys (no "." or empty ones). */
  mkdirpKeys(keys: readonly string[], attrs: Attrs = {}): DirNode {
    let node = this.root;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      const next = node.entries.get(k) ?? this.add(node, k, makeNode('dir', attrs));
      if (next.type !== 'dir')
        throw new Error(
          `/${keyBytes(keys.slice(0, i + 1).join('/')).toString('utf8')} is a ${next.type}, not a directory`,
        );
      node = next;
    }
    return node;
  }

  /** Puts node at path, replacing what is there; missing parents are created with `parentAttrs`. */
  set<N extends Node>(path: PathLike, node: N, parentAttrs: Attrs = {}): N {
    const keys = pathKeys(path);
    const name = keys.pop();
    if (name === undefined) throw new Error('cannot replace the root directory');
    return this.replace(this.mkdirp(keyBytes(keys.join('/')), parentAttrs), name, node);
  }

  /**
   * Puts node at path the way a copy into a chroot would: the parent path resolves
   * through the tree's own symlinks (Debian's /bin → usr/bin) without leaving the root,
   * missing parents are created 0755 root-owned with `mtime`, and whatever is at the
   * final name is replaced — except that a directory placed on a directory merges (the
   * one already there is returned).
   */
  place(path: string, node: Node, mtime: Time): Node {
    const keys = this.resolve(path);
    const name = keys.pop();
    if (name === undefined) throw new BuildError(`cannot place anything at ${path}: it is the root directory`);
    let parent;
    try {
      parent = this.mkdirp(keyBytes(keys.join('/')), { mode: 0o755, uid: 0, gid: 0, mtime });
    } catch (e) {
      throw new BuildError(`cannot place ${path}: ${(e as Error).message}`);
    }
    const old = parent.entries.get(name);
    if (old?.type === 'dir' && node.type === 'dir') return old;
    return this.replace(parent, name, node);
  }

  /** Adds node to dir under a name key it does not have yet (throws when it has). */
  add<N extends Node>(dir: DirNode, key: string, node: N): N {
    if (dir.entries.has(key)) throw new Error(`${keyBytes(key).toString('utf8')} is already there`);
    entriesOf(dir).set(key, node);
    return node;
  }

  /** Puts node into dir under the name key, replacing what is there (if anything). */
  replace<N extends Node>(dir: DirNode, key: string, node: N): N {
    entriesOf(dir).set(key, node);
    return node;
  }

  /**
   * Removes an entry (a directory with everything below it): the one at path, or the
   * one under the name key in dir. False when absent.
   */
  remove(path: PathLike): boolean;
  remove(dir: DirNode, key: string): boolean;
  remove(at: PathLike | DirNode, key?: string): boolean {
    if (typeof at === 'object' && !(at instanceof Uint8Array)) return entriesOf(at).delete(key ?? '');
    const keys = pathKeys(at);
    const name = keys.pop();
    if (name === undefined) return false;
    const parent = this.get(keyBytes(keys.join('/')));
    return parent?.type === 'dir' ? entriesOf(parent).delete(name) : false;
  }

  /** The entries of dir as [name key, node], in byte order of the names. */
  children(dir: DirNode): Array<[string, Node]> {
    return sortedEntries(dir);
  }

  /**
   * The canonical keys of path with the tree's own symlinks followed the way the
   * kernel would inside a chroot: absolute targets restart at the root, ".." stops at
   * the root, so the result never leaves the tree. The last component is followed only
   * with `followLast`. Missing components are kept as they are.
   */
  resolve(path: PathLike, followLast = false): string[] {
    return this.resolveKeys(nameKey(path).split('/'), followLast);
  }

  /** resolve for a path given as its components (entry keys; "", "." and ".." are taken as in a path). */
  resolveKeys(keys: readonly string[], followLast = false): string[] {
    // most paths have no "", "." or ".." and no symlink on the way: they are canonical as they are
    let node: Node | undefined = this.root;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k === '' || k === '.' || k === '..') return this.walkKeys(keys, followLast);
      node = node?.type === 'dir' ? node.entries.get(k) : undefined;
      if (node?.type === 'symlink' && (i < keys.length - 1 || followLast)) return this.walkKeys(keys, followLast);
    }
    return keys.slice();
  }

  /** resolveKeys the long way: one component at a time, symlinks followed. */
  private walkKeys(keys: readonly string[], followLast: boolean): string[] {
    // todo: components still to walk, last first; rest: how many of them are real names
    const todo = keys.slice().reverse();
    const real = (k: string) => k !== '' && k !== '.';
    let rest = todo.filter(real).length;
    const done: string[] = [];
    // nodes[i] is the node at done[0..i) (undefined past a missing component): each
    // step looks up one name, so a deep path costs its length, not its length squared
    const nodes: Array<Node | undefined> = [this.root];
    let hops = 0;
    while (todo.length) {
      const k = todo.pop();
      if (k === undefined || !real(k)) continue;
      rest--;
      if (k === '..') {
        if (done.length) {
          done.pop();
          nodes.pop();
        }
        continue;
      }
      const dir = nodes[nodes.length - 1];
      const node = dir?.type === 'dir' ? dir.entries.get(k) : undefined;
      if (node?.type === 'symlink' && (rest > 0 || followLast)) {
        if (++hops > 40)
          throw new Error(`/${keyBytes([...done, k].join('/')).toString('utf8')}: too many levels of symbolic links`);
        const target = Buffer.from(node.target).toString('latin1');
        if (target.startsWith('/')) {
          done.length = 0;
          nodes.length = 1;
        }
        const parts = target.split('/');
        todo.push(...parts.reverse());
        rest += parts.filter(real).length;
        continue;
      }
      done.push(k);
      nodes.push(node);
    }
    return done;
  }

  /**
   * Every entry, parents before children, children in byte order of their names. The
   * walk keeps its own stack (one frame per directory level), so depth costs no JS stack.
   */
  *walk(): Generator<{ path: Buffer; node: Node; depth: number }> {
    const stack: Array<{ dir: DirNode; keys: string[]; next: number; prefix: Buffer }> = [
      { dir: this.root, keys: sortedKeys(this.root), next: 0, prefix: Buffer.alloc(0) },
    ];
    for (let top = stack.at(-1); top; top = stack.at(-1)) {
      if (top.next === top.keys.length) {
        stack.pop();
        continue;
      }
      const key = top.keys[top.next++] ?? '';
      const node = top.dir.entries.get(key);
      if (!node) continue;
      const path = top.prefix.length ? Buffer.concat([top.prefix, SLASH, keyBytes(key)]) : keyBytes(key);
      yield { path, node, depth: stack.length };
      if (node.type === 'dir') stack.push({ dir: node, keys: sortedKeys(node), next: 0, prefix: path });
    }
  }
}

const SLASH = Buffer.from('/');

/**
 * Calls fn for every directory below and including top after all of its subdirectories
 * (children in name order, top last: mksquashfs's order), with an explicit stack, so a
 * deep tree costs no JS stack.
 */
export function dirsPostOrder(top: DirNode, fn: (dir: DirNode, entries: Array<[string, Node]>) => void): void {
  const stack = [{ dir: top, entries: sortedEntries(top), next: 0 }];
  for (let frame = stack.at(-1); frame; frame = stack.at(-1)) {
    let sub: DirNode | undefined;
    while (!sub && frame.next < frame.entries.length) {
      const child = frame.entries[frame.next++]?.[1];
      if (child?.type === 'dir') sub = child;
    }
    if (sub) stack.push({ dir: sub, entries: sortedEntries(sub), next: 0 });
    else {
      stack.pop();
      fn(frame.dir, frame.entries);
    }
  }
}

/** A directory's entries as [name key, node], in byte order of the names (latin1 keys compare as bytes). */
export function sortedEntries(dir: DirNode): Array<[string, Node]> {
  return [...dir.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A directory's entry keys in byte order (latin1 keys compare as bytes). */
export function sortedKeys(dir: DirNode): string[] {
  return [...dir.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One directory level of walkEntries: the directory, its keys in byte order, how many are taken. */
export interface WalkFrame {
  dir: DirNode;
  keys: string[];
  next: number;
}

/**
 * Every entry in Tree.walk's order without building its path: `visit(node, key, frames)`,
 * where `frames` are the levels from the root down to the entry's parent (the last), and
 * `frames[k].keys[frames[k].next - 1]` is the path's name at level k. Its own stack, as
 * Tree.walk: depth costs no JS stack.
 */
export function walkEntries(tree: Tree, visit: (node: Node, key: string, frames: readonly WalkFrame[]) => void): void {
  const frames: WalkFrame[] = [{ dir: tree.root, keys: sortedKeys(tree.root), next: 0 }];
  for (let top = frames.at(-1); top; top = frames.at(-1)) {
    if (top.next === top.keys.length) {
      frames.pop();
      continue;
    }
    const key = top.keys[top.next++];
    const node = top.dir.entries.get(key);
    if (!node) continue;
    visit(node, key, frames);
    if (node.type === 'dir') frames.push({ dir: node, keys: sortedKeys(node), next: 0 });
  }
}

/**
 * Link counts as a filesystem reports them: for a directory 2 + its subdirectories,
 * for anything else the number of names it has in the tree.
 */
export function linkCounts(tree: Tree): Map<Node, number> {
  const counts = new Map<Node, number>([[tree.root, 2]]);
  const todo: DirNode[] = [tree.root]; // directories still to count, an explicit stack
  for (let dir = todo.pop(); dir; dir = todo.pop()) {
    let subdirs = 0;
    for (const child of dir.entries.values()) {
      if (child.type === 'dir') {
        subdirs++;
        counts.set(child, 2);
        todo.push(child);
      } else {
        counts.set(child, (counts.get(child) ?? 0) + 1);
      }
    }
    counts.set(dir, 2 + subdirs);
  }
  return counts;
}

/** A digest of everything in the tree but file content (paths, types, modes, owners, times,
 *  sizes, devices, link targets, xattrs), after `salt`: writers derive UUIDs and hash seeds
 *  from it, so the same tree gives the same bytes. Per entry, in walk order: the path, a
 *  NUL, JSON of [type, mode, uid, gid, mtime sec, nsec, size, rdev or 0], a symlink's
 *  target, then each xattr's name (UTF-8) and value in name order. */
export function shapeDigest(tree: Tree, salt = ''): Buffer {
  const h = new BatchedHash(createHash('sha256').update(salt));
  // the path of the current entry, built in place: each level writes its key after its
  // parent's path (no buffer per entry, as walk() makes)
  let path = Buffer.alloc(4096);
  // each directory level's path length: a child's path starts after its parent's and a '/'
  const lengths = [0];
  walkEntries(tree, (node, key, frames) => {
    const parent = lengths[frames.length - 1];
    const at = parent ? parent + 1 : 0;
    if (at + key.length > path.length) path = Buffer.concat([path, Buffer.alloc(at + key.length)]);
    if (at) path[at - 1] = 0x2f;
    const length = at + path.write(key, at, 'latin1');
    h.update(path.subarray(0, length));
    h.text(`\0${shapeJson(node)}`);
    if (node.type === 'symlink') h.update(node.target);
    if (node.xattrs.size)
      for (const [k, v] of [...node.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) {
        h.text(k);
        h.update(v);
      }
    if (node.type === 'dir') lengths[frames.length] = length;
  });
  return h.digest();
}

/** JSON.stringify of a node's [type, mode, uid, gid, sec, nsec, size, rdev or 0], written
 *  out for the usual node (every field a finite number: JSON writes it as String does). */
function shapeJson(node: Node): string {
  const size = node.type === 'file' ? node.content.size : 0;
  const { mode, uid, gid, mtime } = node;
  const plain = finite(mode) && finite(uid) && finite(gid) && finite(mtime.sec) && finite(mtime.nsec) && finite(size);
  if (plain && node.type !== 'char' && node.type !== 'block')
    return `["${node.type}",${mode},${uid},${gid},${mtime.sec},${mtime.nsec},${size},0]`;
  const rdev = node.type === 'char' || node.type === 'block' ? node.rdev : 0;
  return JSON.stringify([node.type, mode, uid, gid, mtime.sec, mtime.nsec, size, rdev]);
}

const finite = (v: number) => typeof v === 'number' && isFinite(v);

/** A hash fed through a 64 KiB buffer: one native update per 64 KiB, not per small piece (same bytes hashed). */
class BatchedHash {
  private readonly buf = Buffer.allocUnsafe(64 << 10);
  private at = 0;

  constructor(private readonly hash: Hash) {}

  update(bytes: Uint8Array): void {
    if (this.at + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) this.hash.update(bytes);
    else {
      this.buf.set(bytes, this.at);
      this.at += bytes.length;
    }
  }

  /** A string's UTF-8 bytes, as Hash.update(string) takes them. */
  text(s: string): void {
    // at most 3 bytes a UTF-16 unit
    if (this.at + 3 * s.length > this.buf.length) this.flush();
    if (3 * s.length > this.buf.length) this.hash.update(s);
    else this.at += this.buf.write(s, this.at, 'utf8');
  }

  digest(): Buffer {
    this.flush();
    return this.hash.digest();
  }

  private flush(): void {
    this.hash.update(this.buf.subarray(0, this.at));
    this.at = 0;
  }
}
