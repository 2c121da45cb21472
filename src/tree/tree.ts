// The tree: the one in-memory model of a filesystem that every source builds and
// every writer reads. A Node is an inode; a directory maps names to nodes, so a hard
// link is simply the same Node under two names. Names are bytes: a directory keys its
// entries by the name's bytes as a latin1 string (one char per byte), which keeps
// non-UTF-8 names exact and makes plain string order equal to byte order (strcmp).
import { createHash } from 'node:crypto';
import type { Content } from './content.js';

export type NodeType = 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface Time {
  sec: number;
  nsec: number;
}

export interface Node {
  type: NodeType;
  /** permission and special bits only (0o7777) */
  mode: number;
  uid: number;
  gid: number;
  mtime: Time;
  /** name → value bytes, e.g. "security.capability" */
  xattrs: Map<string, Uint8Array>;
  /** regular files */
  content?: Content;
  /** symlinks: the target bytes */
  target?: Uint8Array;
  /** char and block devices */
  rdev?: { major: number; minor: number };
  /** directories: name key (latin1 of the UTF-8 bytes) → node */
  entries?: Map<string, Node>;
}

export type Attrs = Partial<Pick<Node, 'mode' | 'uid' | 'gid' | 'mtime'>>;

export type PathLike = string | Uint8Array;

export function makeNode(type: NodeType, attrs: Attrs = {}, extra: Partial<Node> = {}): Node {
  return {
    type,
    mode: attrs.mode ?? (type === 'dir' ? 0o755 : 0o644),
    uid: attrs.uid ?? 0,
    gid: attrs.gid ?? 0,
    mtime: attrs.mtime ?? { sec: 0, nsec: 0 },
    xattrs: new Map(),
    ...(type === 'dir' ? { entries: new Map() } : {}),
    ...extra,
  };
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
  readonly root: Node;

  constructor(rootAttrs: Attrs = {}) {
    this.root = makeNode('dir', rootAttrs);
  }

  /** The node at path, not following symlinks; undefined when absent. */
  get(path: PathLike): Node | undefined {
    let node: Node | undefined = this.root;
    for (const k of pathKeys(path)) {
      node = node.entries?.get(k);
      if (!node) return undefined;
    }
    return node;
  }

  /**
   * The directory at path, created with `attrs` (and its missing parents) when absent.
   * Throws when a non-directory is in the way.
   */
  mkdirp(path: PathLike, attrs: Attrs = {}): Node {
    let node = this.root;
    const seen: string[] = [];
    for (const k of pathKeys(path)) {
      seen.push(k);
      let next = node.entries!.get(k);
      if (!next) {
        next = makeNode('dir', attrs);
        node.entries!.set(k, next);
      } else if (next.type !== 'dir') {
        throw new Error(`/${keyBytes(seen.join('/')).toString('utf8')} is a ${next.type}, not a directory`);
      }
      node = next;
    }
    return node;
  }

  /** Puts node at path, replacing what is there; missing parents are created with `parentAttrs`. */
  set(path: PathLike, node: Node, parentAttrs: Attrs = {}): Node {
    const keys = pathKeys(path);
    const name = keys.pop();
    if (name === undefined) throw new Error('cannot replace the root directory');
    this.mkdirp(keyBytes(keys.join('/')), parentAttrs).entries!.set(name, node);
    return node;
  }

  /** Removes the entry at path (a directory with everything below it); false when absent. */
  remove(path: PathLike): boolean {
    const keys = pathKeys(path);
    const name = keys.pop();
    if (name === undefined) return false;
    const parent = this.get(keyBytes(keys.join('/')));
    return parent?.entries?.delete(name) ?? false;
  }

  /**
   * The canonical keys of path with the tree's own symlinks followed the way the
   * kernel would inside a chroot: absolute targets restart at the root, ".." stops at
   * the root, so the result never leaves the tree. The last component is followed only
   * with `followLast`. Missing components are kept as they are.
   */
  resolve(path: PathLike, followLast = false): string[] {
    // todo: components still to walk, last first; rest: how many of them are real names
    const todo = nameKey(path).split('/').reverse();
    const real = (k: string) => k !== '' && k !== '.';
    let rest = todo.filter(real).length;
    const done: string[] = [];
    // nodes[i] is the node at done[0..i) (undefined past a missing component): each
    // step looks up one name, so a deep path costs its length, not its length squared
    const nodes: Array<Node | undefined> = [this.root];
    let hops = 0;
    while (todo.length) {
      const k = todo.pop()!;
      if (!real(k)) continue;
      rest--;
      if (k === '..') {
        if (done.length) {
          done.pop();
          nodes.pop();
        }
        continue;
      }
      const node = nodes[nodes.length - 1]?.entries?.get(k);
      if (node?.type === 'symlink' && (rest > 0 || followLast)) {
        if (++hops > 40) throw new Error(`/${keyBytes([...done, k].join('/')).toString('utf8')}: too many levels of symbolic links`);
        const target = Buffer.from(node.target!).toString('latin1');
        if (target.startsWith('/')) {
          done.length = 0;
          nodes.length = 1;
        }
        const parts = target.split('/');
        for (let i = parts.length - 1; i >= 0; i--) todo.push(parts[i]!);
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
    const stack: Array<{ dir: Node; keys: string[]; next: number; prefix: Buffer }> = [{ dir: this.root, keys: sortedKeys(this.root), next: 0, prefix: Buffer.alloc(0) }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next === top.keys.length) {
        stack.pop();
        continue;
      }
      const key = top.keys[top.next++]!;
      const node = top.dir.entries!.get(key)!;
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
export function dirsPostOrder(top: Node, fn: (dir: Node, keys: string[]) => void): void {
  const stack = [{ dir: top, keys: sortedKeys(top), next: 0 }];
  while (stack.length) {
    const frame = stack[stack.length - 1]!;
    let sub: Node | undefined;
    while (!sub && frame.next < frame.keys.length) {
      const child = frame.dir.entries!.get(frame.keys[frame.next++]!)!;
      if (child.type === 'dir') sub = child;
    }
    if (sub) stack.push({ dir: sub, keys: sortedKeys(sub), next: 0 });
    else {
      stack.pop();
      fn(frame.dir, frame.keys);
    }
  }
}

/** A directory's entry keys in byte order (latin1 keys compare as bytes). */
export function sortedKeys(dir: Node): string[] {
  return [...dir.entries!.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Link counts as a filesystem reports them: for a directory 2 + its subdirectories,
 * for anything else the number of names it has in the tree.
 */
export function linkCounts(tree: Tree): Map<Node, number> {
  const counts = new Map<Node, number>([[tree.root, 2]]);
  const todo: Node[] = [tree.root]; // directories still to count, an explicit stack
  while (todo.length) {
    const dir = todo.pop()!;
    for (const child of dir.entries!.values()) {
      if (child.type === 'dir') {
        counts.set(dir, counts.get(dir)! + 1);
        counts.set(child, 2);
        todo.push(child);
      } else {
        counts.set(child, (counts.get(child) ?? 0) + 1);
      }
    }
  }
  return counts;
}

/** A digest of everything in the tree but file content (paths, types, modes, owners, times,
 *  sizes, devices, link targets, xattrs), after `salt`: writers derive UUIDs and hash seeds
 *  from it, so the same tree gives the same bytes. */
export function shapeDigest(tree: Tree, salt = ''): Buffer {
  const h = createHash('sha256').update(salt);
  for (const { path, node } of tree.walk()) {
    h.update(path).update('\0');
    h.update(JSON.stringify([node.type, node.mode, node.uid, node.gid, node.mtime.sec, node.mtime.nsec, node.content?.size ?? 0, node.rdev ?? 0]));
    if (node.target) h.update(node.target);
    for (const [k, v] of [...node.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(k).update(v);
  }
  return h.digest();
}
