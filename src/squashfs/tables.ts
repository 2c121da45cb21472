// The inode, directory, export, id and xattr tables of a tree. Sources: squashfs-tools-ng
// doc/format.adoc ("Inode Table", "Directory Table", "Export Table"), the kernel's
// fs/squashfs/{inode,namei,dir,export}.c, and mksquashfs.c for numbering.
//
// Numbering and order (both C tools): a directory's subdirectories are handled first
// (recursively), then its entries get consecutive numbers in name order and their
// inodes are written in that order, then the directory's listing is written. The root
// comes last with the highest number. Inodes are written in number order, so entries
// of one directory sit next to each other and share directory headers.
import { type DirNode, dirsPostOrder, keyBytes, linkCounts, type Node, type Tree } from '../tree/tree.js';
import type { BlockCompressor } from './codec.js';
import type { FileData } from './data.js';
import { type Listing, type ListingEntry, writeListing } from './directory.js';
import { SQFS_INODE } from './format.js';
import { IdTable } from './ids.js';
import {
  deviceInode,
  dirInode,
  encodeInode,
  fileInode,
  type InodeBody,
  type InodeCommon,
  ipcInode,
  symlinkInode,
} from './inodes.js';
import { MetaWriter } from './metadata.js';
import { XattrTable } from './xattrs.js';

export interface Tables {
  inodes: Buffer;
  directories: Buffer;
  rootRef: number;
  inodeCount: number;
  /** inode refs by number − 1 (export table) */
  refs: number[];
  ids: IdTable;
  xattrs: XattrTable;
}

/** Numbers as described above: subdirectories' subtrees first, root last. */
function numberInodes(tree: Tree): Map<Node, number> {
  const nums = new Map<Node, number>();
  let next = 1;
  dirsPostOrder(tree.root, (_dir, entries) => {
    for (const [, c] of entries) if (!nums.has(c)) nums.set(c, next++);
  });
  nums.set(tree.root, next);
  return nums;
}

class TableWriter {
  readonly inodes: MetaWriter;
  readonly dirs: MetaWriter;
  /** inode refs by number − 1 (−1: not written yet), an array rather than a Map per node */
  readonly refs: Float64Array;
  readonly listings = new Map<Node, Listing>();
  readonly ids = new IdTable();
  readonly xattrs: XattrTable;
  readonly nums: Map<Node, number>;
  private nlinks: Map<Node, number>;

  constructor(
    tree: Tree,
    private data: Map<Node, FileData>,
    compress: BlockCompressor,
  ) {
    this.nums = numberInodes(tree);
    this.refs = new Float64Array(this.nums.size).fill(-1);
    this.nlinks = linkCounts(tree);
    this.inodes = new MetaWriter(compress);
    this.dirs = new MetaWriter(compress);
    this.xattrs = new XattrTable(compress);
  }

  /** Appends n's inode to the inode table; `parent` is its directory's number. */
  writeInode(n: Node, parent: number): void {
    this.refs[this.nums.get(n)! - 1] = this.inodes.ref();
    const common: InodeCommon = { xattr: this.xattrs.index(n.xattrs), nlink: this.nlinks.get(n)! };
    const body = this.body(n, parent, common);
    const ids = { uid: this.ids.index(n.uid), gid: this.ids.index(n.gid) };
    this.inodes.append(encodeInode(n, body, ids, this.nums.get(n)!));
  }

  private body(n: Node, parent: number, c: InodeCommon): InodeBody {
    switch (n.type) {
      case 'dir':
        return dirInode(this.listings.get(n)!, parent, c);
      case 'file':
        return fileInode(n.content.size, this.data.get(n), c);
      case 'symlink':
        return symlinkInode(n.target, c);
      case 'char':
      case 'block':
        return deviceInode(n.type, n.rdev, c);
      case 'fifo':
      case 'socket':
        return ipcInode(n.type, c);
    }
  }

  /** A directory (`children` in name order): its entries' inodes (those not written yet), then its listing. */
  writeDir(dir: DirNode, children: Array<[string, Node]>): void {
    for (const [, c] of children) if (this.refs[this.nums.get(c)! - 1] < 0) this.writeInode(c, this.nums.get(dir)!);
    const entries: ListingEntry[] = children.map(([k, c]) => {
      const number = this.nums.get(c)!;
      return { name: keyBytes(k), ref: this.refs[number - 1], number, type: SQFS_INODE[c.type] };
    });
    this.listings.set(dir, writeListing(this.dirs, entries));
  }
}

export function writeTables(tree: Tree, data: Map<Node, FileData>, compress: BlockCompressor): Tables {
  const w = new TableWriter(tree, data, compress);
  dirsPostOrder(tree.root, (dir, children) => w.writeDir(dir, children));
  const count = w.nums.size;
  // the root's parent: one past the last inode, as mksquashfs writes it
  w.writeInode(tree.root, count + 1);
  return {
    inodes: w.inodes.finish(),
    directories: w.dirs.finish(),
    rootRef: w.refs[count - 1],
    inodeCount: count,
    refs: Array.from(w.refs),
    ids: w.ids,
    xattrs: w.xattrs,
  };
}
