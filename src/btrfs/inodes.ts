// The tree as btrfs inodes: numbers, names and where file data goes.
// Inode numbers: the root directory is BTRFS_FIRST_FREE_OBJECTID (256), the rest follow
// in walk order (parents first, names in byte order); a hard link is one node, so one
// inode with one INODE_REF name per link. Each directory numbers its entries' DIR_INDEX
// from 2 in name order (0 and 1 stand for "." and "..", as the kernel starts at 2).
// Files up to BTRFS_DEFAULT_MAX_INLINE (2048 bytes, fs/btrfs/ctree.h) are stored inline in
// their EXTENT_DATA item; larger ones get regular extents for the sectors that hold data,
// holes are left out (NO_HOLES), each extent at most 128 MiB (BTRFS_MAX_EXTENT_SIZE).
import { dataBlockRuns } from '../tree/content.js';
import { contentOf, keyBytes, linkCounts, type Node, sortedKeys, type Tree } from '../tree/tree.js';
import { SECTOR } from './format.js';
import { MAX_EXTENT, type Run, type Space } from './layout.js';

export const ROOT_INO = 256;
export const MAX_INLINE = 2048;

export interface Entry {
  name: Buffer;
  ino: number;
  index: number;
}

export interface Inode {
  ino: number;
  node: Node;
  /** its first path, "/" for the root: for messages */
  path: string;
  nlink: number;
  /** (parent inode, index, name) of every name, root: (256, 0, "..") */
  refs: { parent: number; index: number; name: Buffer }[];
  /** directories: entries in name order */
  entries?: Entry[];
  /** regular files with data beyond MAX_INLINE: extents in file order */
  extents: { fileOffset: number; bytenr: number; length: number }[];
}

/** Numbers every node and records its names and directory entries (limits.ts is checked before). */
export function numberInodes(tree: Tree): Inode[] {
  const counts = linkCounts(tree);
  const byNode = new Map<Node, Inode>();
  const inodes: Inode[] = [];
  const add = (node: Node, path: string): Inode => {
    let i = byNode.get(node);
    if (!i) {
      i = {
        ino: ROOT_INO + inodes.length,
        node,
        path,
        nlink: node.type === 'dir' ? 1 : counts.get(node)!,
        refs: [],
        extents: [],
      };
      byNode.set(node, i);
      inodes.push(i);
    }
    return i;
  };
  const root = add(tree.root, '/');
  root.refs.push({ parent: ROOT_INO, index: 0, name: Buffer.from('..') });
  // depth first, children in name order, a child directory's subtree before its next
  // sibling; an explicit stack, so depth costs no JS stack (limits were checked before)
  root.entries = [];
  const stack = [{ dir: root, keys: sortedKeys(tree.root), next: 0, index: 2 }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    if (top.next === top.keys.length || top.dir.node.type !== 'dir') {
      stack.pop();
      continue;
    }
    const key = top.keys[top.next++] ?? '';
    const name = keyBytes(key);
    const child = top.dir.node.entries.get(key);
    if (!child) continue;
    const c = add(child, `${top.dir.path === '/' ? '' : top.dir.path}/${name.toString('utf8')}`);
    c.refs.push({ parent: top.dir.ino, index: top.index, name });
    top.dir.entries!.push({ name, ino: c.ino, index: top.index++ });
    if (c.node.type === 'dir') {
      c.entries = [];
      stack.push({ dir: c, keys: sortedKeys(c.node), next: 0, index: 2 });
    }
  }
  return inodes;
}

/** Sector runs of a file that hold data: its pieces rounded out to sectors, merged. */
function dataRuns(node: Node): Run[] {
  return dataBlockRuns(contentOf(node), SECTOR).map((r) => ({ start: r.start * SECTOR, length: r.length * SECTOR }));
}

export function isInline(node: Node): boolean {
  return node.type === 'file' && node.content.size > 0 && node.content.size <= MAX_INLINE;
}

/** Places the data of every non-inline file, in inode order, in `space`. */
export function placeData(inodes: Inode[], space: Space): void {
  for (const i of inodes) {
    if (i.node.type !== 'file' || isInline(i.node)) continue;
    for (const r of dataRuns(i.node)) {
      let fileOffset = r.start;
      for (const piece of space.take(r.length, MAX_EXTENT)) {
        i.extents.push({ fileOffset, bytenr: piece.start, length: piece.length });
        fileOffset += piece.length;
      }
    }
  }
}
