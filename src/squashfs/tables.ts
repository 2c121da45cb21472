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

/**
 * A directory in the order the listings are written (post-order), with how many files
 * of the data's order (`fileIndex`) must be written before its entries' inodes can be:
 * the data walks the tree in pre-order, so those of its subtree come before that count.
 */
interface DirStep {
  dir: DirNode;
  entries: Array<[string, Node]>;
  needs: number;
}

/** Numbers as described above (subdirectories' subtrees first, root last), and the directories in that order. */
function numberInodes(tree: Tree, fileIndex?: Map<Node, number>): { nums: Map<Node, number>; steps: DirStep[] } {
  const nums = new Map<Node, number>();
  const needs = new Map<Node, number>();
  const steps: DirStep[] = [];
  let next = 1;
  dirsPostOrder(tree.root, (dir, entries) => {
    let need = 0;
    for (const [, c] of entries) {
      if (!nums.has(c)) nums.set(c, next++);
      need = Math.max(need, c.type === 'dir' ? needs.get(c)! : (fileIndex?.get(c) ?? -1) + 1);
    }
    needs.set(dir, need);
    steps.push({ dir, entries, needs: need });
  });
  nums.set(tree.root, next);
  return { nums, steps };
}

/**
 * Writes the tables directory by directory (`step`), so that the directories whose
 * files' data is written can be done while the rest of the data is compressed; the
 * bytes are those of writing them all at the end (same order, same data).
 */
export class TableWriter {
  readonly inodes: MetaWriter;
  readonly dirs: MetaWriter;
  /** inode refs by number − 1 (−1: not written yet), an array rather than a Map per node */
  readonly refs: Float64Array;
  readonly listings = new Map<Node, Listing>();
  readonly ids = new IdTable();
  readonly xattrs: XattrTable;
  readonly nums: Map<Node, number>;
  private nlinks: Map<Node, number>;
  private steps: Array<DirStep | undefined>;
  private next = 0;

  /** `fileIndex`: each file's place in the data's order (writeData's `files`); without it, step waits for all. */
  constructor(
    private tree: Tree,
    private data: Map<Node, FileData>,
    compress: BlockCompressor,
    fileIndex?: Map<Node, number>,
  ) {
    const { nums, steps } = numberInodes(tree, fileIndex);
    this.nums = nums;
    this.steps = steps;
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

  /**
   * Writes the next directory if the data of the files it needs is written (`written`:
   * that many files of the data's order are); false when it is not, or none is left.
   */
  step(written: number): boolean {
    const s = this.steps[this.next];
    if (!s || s.needs > written) return false;
    this.steps[this.next++] = undefined;
    this.writeDir(s.dir, s.entries);
    return true;
  }

  /** The directories left, the root's inode, and the tables (every file's data written). */
  finish(): Tables {
    while (this.step(Infinity));
    const count = this.nums.size;
    // the root's parent: one past the last inode, as mksquashfs writes it
    this.writeInode(this.tree.root, count + 1);
    return {
      inodes: this.inodes.finish(),
      directories: this.dirs.finish(),
      rootRef: this.refs[count - 1],
      inodeCount: count,
      refs: Array.from(this.refs),
      ids: this.ids,
      xattrs: this.xattrs,
    };
  }
}
