// Step 1 of the ext4 writer: every inode of the image and what its blocks hold, before
// any block is placed. Numbers: the journal 8 (EXT4_JOURNAL_INO), root 2
// (EXT4_ROOT_INO), lost+found 11 (the first non-reserved inode, where e2fsck looks
// for it), the rest from 12 in walk order; a hard link is one node, so one inode.
// lost+found is the tree's when it has one, else an empty one of 4 blocks (as mke2fs
// makes it) listed last in the root. The journal is planned like any file; its length
// depends on the filesystem's size, so its blocks are counted when the layout is.
import { S_IF, S_IFDIR, S_IFREG, newEncodeDev } from '../posix.js';
import { type Content, dataBlockRuns } from '../tree/content.js';
import { type DirNode, keyBytes, type Node, sortedEntries, type Time, type Tree, walkEntries } from '../tree/tree.js';
import { type DirBlock, dirBlocks, type DirEntry, emptyDirBlocks } from './dir.js';
import { BLOCK, DEVICE_IBLOCK, FT, IBLOCK_SIZE, INODE_XATTR_ROOM } from './format.js';
import type { Run } from './geometry.js';
import { JOURNAL_INO } from './super.js';
import { splitXattrs, type XattrEntry, xattrEntries, xattrKey } from './xattr.js';

export const ROOT_INO = 2;
export const LOST_FOUND_INO = 11;
const FIRST_INO = 12;
/** EXT4_LINK_MAX: a directory with more links is written with 1 (dir_nlink) */
const LINK_MAX = 65000;
/** a symlink target shorter than i_block (with its NUL) is kept in the inode */
const FAST_SYMLINK_MAX = IBLOCK_SIZE - 1;
const LOST_FOUND = Buffer.from('lost+found');

/** What an inode's blocks hold. */
export type Body =
  /** a regular file: its content (fileRuns: the logical block runs that hold data) */
  | { kind: 'file'; content: Content }
  | { kind: 'dir'; blocks: DirBlock[]; indexed: boolean }
  /** a symlink whose target does not fit i_block: the target in one block */
  | { kind: 'slow-symlink'; size: number; block: Buffer }
  /** the journal: zeros but its superblock, as long as the filesystem's size asks */
  | { kind: 'journal' }
  /** everything in i_block: a fast symlink's target, a device number, nothing (fifo, socket) */
  | { kind: 'inline'; size: number; iblock: Buffer };

export interface PlannedInode {
  ino: number;
  /** i_mode: the S_IFMT bits and the permissions */
  mode: number;
  uid: number;
  gid: number;
  time: Time;
  links: number;
  body: Body;
  inodeXattrs: XattrEntry[];
  /** the xattrs that did not fit the inode; `key` equal for equal lists (shared blocks) */
  blockXattrs?: { key: string; entries: XattrEntry[] };
}

/** The logical block runs of a file that hold data (the rest are holes): computed when
 *  asked, not kept, as a plan holds every file of the tree. */
export function fileRuns(content: Content): Run[] {
  return dataBlockRuns(content, BLOCK);
}

/** Blocks of data and directories the body holds (the journal's are not content). */
export function contentBlocks(body: Body): number {
  switch (body.kind) {
    case 'file':
      return fileRuns(body.content).reduce((n, r) => n + r.length, 0);
    case 'dir':
      return body.blocks.length;
    case 'slow-symlink':
      return 1;
    default:
      return 0;
  }
}

/** The inodes of the image: the journal, root, lost+found, then the tree in walk order. */
export function planInodes(tree: Tree, epoch: Time, hashSeed: Uint32Array): PlannedInode[] {
  const found = tree.root.entries.get('lost+found');
  if (found && found.type !== 'dir') throw new Error('/lost+found is not a directory; ext4 needs it to be one');
  const { inoOf, counts } = numberInodes(tree, found);
  const parents = parentDirs(tree.root);
  const bodyOf = (node: Node, ino: number): Body => {
    if (node.type !== 'dir') return leafBody(node);
    const entries = sortedEntries(node).map(([k, child]): DirEntry => ({
      name: keyBytes(k),
      ino: inoOf.get(child)!,
      type: FT[child.type],
    }));
    if (node === tree.root && !found) entries.push({ name: LOST_FOUND, ino: LOST_FOUND_INO, type: FT.dir });
    return { kind: 'dir', ...dirBlocks(ino, inoOf.get(parents.get(node)!)!, entries, hashSeed) };
  };
  const rootLinks = counts.get(tree.root)! + (found ? 0 : 1);
  const out: PlannedInode[] = [journalInode(epoch)];
  for (const [node, ino] of inoOf) {
    const links = node === tree.root ? rootLinks : counts.get(node)!;
    out.push(planned(node, ino, node.type === 'dir' && links > LINK_MAX ? 1 : links, bodyOf(node, ino)));
    if (node === tree.root && !found) out.push(emptyLostFound(epoch));
  }
  return out;
}

/**
 * Inode numbers in plan order (root, lost+found when the tree has one, the rest in walk
 * order) and link counts as linkCounts (src/tree/tree.ts) gives them — a directory 2 + its
 * subdirectories, anything else its names — both from one walk.
 */
function numberInodes(tree: Tree, found: Node | undefined): { inoOf: Map<Node, number>; counts: Map<Node, number> } {
  const inoOf = new Map<Node, number>([[tree.root, ROOT_INO]]);
  if (found) inoOf.set(found, LOST_FOUND_INO);
  const counts = new Map<Node, number>([[tree.root, 2]]);
  let next = FIRST_INO;
  walkEntries(tree, (node, _key, frames) => {
    if (!inoOf.has(node)) inoOf.set(node, next++);
    if (node.type !== 'dir') {
      counts.set(node, (counts.get(node) ?? 0) + 1);
      return;
    }
    const parent = frames[frames.length - 1].dir;
    counts.set(parent, counts.get(parent)! + 1);
    counts.set(node, 2);
  });
  return { inoOf, counts };
}

/** Each directory's parent (the root is its own), with an explicit stack. */
function parentDirs(root: DirNode): Map<Node, Node> {
  const parents = new Map<Node, Node>([[root, root]]);
  const todo = [root];
  for (let dir = todo.pop(); dir; dir = todo.pop()) {
    for (const child of dir.entries.values()) {
      if (child.type !== 'dir') continue;
      parents.set(child, dir);
      todo.push(child);
    }
  }
  return parents;
}

/** The body of anything but a directory. */
function leafBody(node: Node): Body {
  switch (node.type) {
    case 'file':
      return { kind: 'file', content: node.content };
    case 'symlink': {
      const target = node.target;
      if (target.length <= FAST_SYMLINK_MAX) {
        const iblock = Buffer.alloc(IBLOCK_SIZE);
        iblock.set(target);
        return { kind: 'inline', size: target.length, iblock };
      }
      const block = Buffer.alloc(BLOCK);
      block.set(target);
      return { kind: 'slow-symlink', size: target.length, block };
    }
    case 'char':
    case 'block':
      return { kind: 'inline', size: 0, iblock: DEVICE_IBLOCK.encode({ new_dev: newEncodeDev(node.rdev) }) };
    default:
      return { kind: 'inline', size: 0, iblock: Buffer.alloc(IBLOCK_SIZE) };
  }
}

/** The inodeXattrs of every inode without xattrs: one shared empty list, not one per inode. */
const NO_XATTRS: XattrEntry[] = [];

function planned(node: Node, ino: number, links: number, body: Body): PlannedInode {
  const { inode, block } = node.xattrs.size
    ? splitXattrs(xattrEntries(node.xattrs), INODE_XATTR_ROOM)
    : { inode: NO_XATTRS, block: NO_XATTRS };
  const i: PlannedInode = {
    ino,
    mode: S_IF[node.type] | node.mode,
    uid: node.uid,
    gid: node.gid,
    time: node.mtime,
    links,
    body,
    inodeXattrs: inode,
  };
  if (block.length) i.blockXattrs = { key: xattrKey(block), entries: block };
  return i;
}

function journalInode(epoch: Time): PlannedInode {
  return {
    ino: JOURNAL_INO,
    mode: S_IFREG | 0o600,
    uid: 0,
    gid: 0,
    time: epoch,
    links: 1,
    body: { kind: 'journal' },
    inodeXattrs: NO_XATTRS,
  };
}

function emptyLostFound(epoch: Time): PlannedInode {
  const body: Body = { kind: 'dir', blocks: emptyDirBlocks(LOST_FOUND_INO, ROOT_INO, 4), indexed: false };
  return {
    ino: LOST_FOUND_INO,
    mode: S_IFDIR | 0o700,
    uid: 0,
    gid: 0,
    time: epoch,
    links: 2,
    body,
    inodeXattrs: NO_XATTRS,
  };
}
