// Inode table, directory table, id and xattr tables. Sources: squashfs-tools-ng
// doc/format.adoc ("Inode Table", "Directory Table", "Directory Index", "ID Table",
// "Extended Attribute Table"), the kernel's fs/squashfs/{inode,namei,dir,xattr}.c,
// and mksquashfs.c for numbering and when extended inodes are used.
//
// Numbering and order (both C tools): a directory's subdirectories are handled first
// (recursively), then its entries get consecutive numbers in name order and their
// inodes are written in that order, then the directory's listing is written. The root
// comes last with the highest number. Inodes are written in number order, so entries
// of one directory sit next to each other and share directory headers.
//
// Common inode header (16 bytes): u16 type, u16 mode (permission bits), u16 uid index,
// u16 gid index (into the id table), u32 mtime (unsigned seconds), u32 inode number.
// A hard link is one inode with several directory entries; its link count is the
// number of names (extended inode when > 1).
import { type DirNode, dirsPostOrder, keyBytes, linkCounts, sortedEntries, type Node, type Tree } from '../tree/tree.js';
import type { BlockCompressor } from './codec.js';
import { NO_FRAGMENT, type FileData } from './data.js';
import { METADATA_SIZE, MetaWriter } from './metadata.js';

const NO_XATTR = 0xffffffff;
const U32 = 2 ** 32;

/** Basic inode types; the extended kind of each is type + 7. */
const BASIC: Record<Node['type'], number> = { dir: 1, file: 2, symlink: 3, block: 4, char: 5, fifo: 6, socket: 7 };

/** xattr name prefixes squashfs can store, by type id (format.adoc, "Extended Attribute Table"). */
const XATTR_PREFIXES = ['user.', 'trusted.', 'security.'];

export interface Tables {
  inodes: Buffer;
  directories: Buffer;
  rootRef: number;
  inodeCount: number;
  /** inode refs by number − 1 (export table) */
  refs: number[];
  /** distinct uids/gids in order of first use */
  ids: number[];
  /** stored xattr key/value pairs */
  xattrKv: Buffer;
  /** xattr id entries: ref into xattrKv, pair count, byte size */
  xattrIds: { ref: number; count: number; size: number }[];
  /** inodes with xattrs squashfs has no namespace for (system.*), left out */
  droppedXattrs: number;
}

interface Listing {
  start: number;
  offset: number;
  /** listing bytes + 3 (the kernel counts "." and ".." as 3 bytes) */
  fileSize: number;
  index: Buffer[];
}

/** Kernel device encoding (new_encode_dev): major in bits 8–19, minor split around it. */
export function encodeDev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}

export function clampTime(sec: number): number {
  return Math.min(U32 - 1, Math.max(0, Math.floor(sec)));
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32s(...ns: number[]): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  ns.forEach((n, i) => b.writeUInt32LE(n >>> 0, 4 * i));
  return b;
}

/** A per-block list as u32s, without spreading it into arguments (files have millions of blocks). */
function u32array(ns: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 * ns.length);
  for (let i = 0; i < ns.length; i++) b.writeUInt32LE(ns[i]! >>> 0, 4 * i);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
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

export function writeTables(tree: Tree, data: Map<Node, FileData>, compress: BlockCompressor): Tables {
  const nums = numberInodes(tree);
  const nlinks = linkCounts(tree);
  const inodes = new MetaWriter(compress);
  const dirs = new MetaWriter(compress);
  const xattrKv = new MetaWriter(compress);
  const refs = new Map<Node, number>();
  const listings = new Map<Node, Listing>();
  const ids = new Map<number, number>();
  const xattrSets = new Map<string, number>();
  const xattrIds: Tables['xattrIds'] = [];

  const idIndex = (id: number): number => {
    let i = ids.get(id);
    if (i === undefined) {
      if (ids.size === 65535) throw new Error("squashfs: more than 65535 distinct uids and gids (the superblock counts them in 16 bits)");
      ids.set(id, (i = ids.size));
    }
    return i;
  };

  // xattrs: each distinct set of pairs is stored once (key: u16 type, u16 name size,
  // name without prefix; value: u32 size, bytes — all inline); its id entry holds the
  // ref of its first pair, the pair count and the pairs' total stored size.
  // Names outside user./trusted./security. (POSIX ACLs, system.*) have no type in
  // squashfs: left out and counted, as mksquashfs skips them with a warning.
  let droppedXattrs = 0;
  const xattrIndex = (n: Node): number => {
    const names = [...n.xattrs.keys()].filter((name) => XATTR_PREFIXES.some((p) => name.startsWith(p))).sort();
    if (names.length < n.xattrs.size) droppedXattrs++;
    if (!names.length) return NO_XATTR;
    const parts: Buffer[] = [];
    for (const name of names) {
      const type = XATTR_PREFIXES.findIndex((p) => name.startsWith(p));
      const key = Buffer.from(name.slice(XATTR_PREFIXES[type].length), 'utf8');
      const value = n.xattrs.get(name)!;
      parts.push(u16(type), u16(key.length), key, u32s(value.length), Buffer.from(value));
    }
    const bytes = Buffer.concat(parts);
    const setKey = bytes.toString('latin1');
    let i = xattrSets.get(setKey);
    if (i === undefined) {
      xattrSets.set(setKey, (i = xattrIds.length));
      xattrIds.push({ ref: xattrKv.ref(), count: names.length, size: bytes.length });
      xattrKv.append(bytes);
    }
    return i;
  };

  const writeInode = (n: Node, parent: number): void => {
    const ref = inodes.ref();
    refs.set(n, ref);
    const xattr = xattrIndex(n);
    const nlink = nlinks.get(n)!;
    let type = BASIC[n.type];
    let body: Buffer;
    const ext = xattr !== NO_XATTR;
    if (n.type === 'dir') {
      const l = listings.get(n)!;
      // basic: u32 start, u32 nlink, u16 file size, u16 offset, u32 parent.
      // extended (index, xattrs, or > 64 KiB): u32 nlink, u32 file size, u32 start,
      // u32 parent, u16 index count, u16 offset, u32 xattr; then the index.
      if (ext || l.index.length || l.fileSize > 0xffff) {
        type += 7;
        const b = Buffer.alloc(24);
        b.writeUInt32LE(nlink, 0);
        b.writeUInt32LE(l.fileSize, 4);
        b.writeUInt32LE(l.start, 8);
        b.writeUInt32LE(parent, 12);
        b.writeUInt16LE(l.index.length, 16);
        b.writeUInt16LE(l.offset, 18);
        b.writeUInt32LE(xattr, 20);
        body = Buffer.concat([b, ...l.index]);
      } else {
        const b = Buffer.alloc(16);
        b.writeUInt32LE(l.start, 0);
        b.writeUInt32LE(nlink, 4);
        b.writeUInt16LE(l.fileSize, 8);
        b.writeUInt16LE(l.offset, 10);
        b.writeUInt32LE(parent, 12);
        body = b;
      }
    } else if (n.type === 'file') {
      const d = data.get(n) ?? { start: 0, sizes: [], fragment: NO_FRAGMENT, fragmentOffset: 0, sparse: 0 };
      const size = n.content.size;
      const sizes = u32array(d.sizes);
      // basic: u32 start, u32 fragment, u32 offset, u32 size, u32 sizes[].
      // extended (hard links, xattrs, sparse, ≥ 4 GiB): u64 start, u64 size, u64 sparse,
      // u32 nlink, u32 fragment, u32 offset, u32 xattr, u32 sizes[].
      if (ext || nlink > 1 || d.sparse > 0 || size >= U32 || d.start >= U32) {
        type += 7;
        body = Buffer.concat([u64(d.start), u64(size), u64(d.sparse), u32s(nlink, d.fragment, d.fragmentOffset, xattr), sizes]);
      } else {
        body = Buffer.concat([u32s(d.start, d.fragment, d.fragmentOffset, size), sizes]);
      }
    } else if (n.type === 'symlink') {
      // u32 nlink, u32 target size, target; extended adds u32 xattr after the target.
      const target = Buffer.from(n.target);
      body = Buffer.concat([u32s(nlink, target.length), target, ...(ext ? [u32s(xattr)] : [])]);
      if (ext) type += 7;
    } else if (n.type === 'char' || n.type === 'block') {
      // u32 nlink, u32 device; extended adds u32 xattr.
      body = u32s(nlink, encodeDev(n.rdev.major, n.rdev.minor), ...(ext ? [xattr] : []));
      if (ext) type += 7;
    } else {
      // fifo, socket: u32 nlink; extended adds u32 xattr.
      body = u32s(nlink, ...(ext ? [xattr] : []));
      if (ext) type += 7;
    }
    const head = Buffer.alloc(16);
    head.writeUInt16LE(type, 0);
    head.writeUInt16LE(n.mode & 0o7777, 2);
    head.writeUInt16LE(idIndex(n.uid), 4);
    head.writeUInt16LE(idIndex(n.gid), 6);
    head.writeUInt32LE(clampTime(n.mtime.sec), 8);
    head.writeUInt32LE(nums.get(n)!, 12);
    inodes.append(Buffer.concat([head, body]));
  };

  // Directory listing: runs of ≤ 256 entries, each after a 12-byte header (u32 count −
  // 1, u32 inode metadata block, u32 base inode number); an entry is u16 offset in that
  // block, s16 number − base, u16 basic type, u16 name size − 1, name. A new run starts
  // when the inode block changes, the number leaves ±32767 of the base, or the listing
  // crosses into the next 8 KiB metadata block (then the header is added to the
  // directory index: u32 offset from the listing start, u32 metadata block, u32 name
  // size − 1, first name), as mksquashfs does.
  const writeListing = (dir: DirNode): Listing => {
    const start = dirs.pos();
    const base = dirs.length;
    const index: Buffer[] = [];
    let run: { block: number; number: number; count: number; entries: Buffer[]; bytes: number; first: Buffer } | undefined;
    let lastIndexed = Math.floor(base / METADATA_SIZE);
    const flush = (): void => {
      if (!run) return;
      const at = dirs.length;
      const block = Math.floor(at / METADATA_SIZE);
      if (block !== lastIndexed) {
        index.push(Buffer.concat([u32s(at - base, dirs.pos().block, run.first.length - 1), run.first]));
        lastIndexed = block;
      }
      dirs.append(Buffer.concat([u32s(run.count - 1, run.block, run.number), ...run.entries]));
      run = undefined;
    };
    for (const [k, c] of sortedEntries(dir)) {
      const name = keyBytes(k);
      const ref = refs.get(c)!;
      const block = Math.floor(ref / 65536);
      const number = nums.get(c)!;
      const entrySize = 8 + name.length;
      const runStart = dirs.length;
      if (
        run &&
        (run.count === 256 ||
          run.block !== block ||
          number - run.number > 32767 ||
          number - run.number < -32768 ||
          Math.floor((runStart + 12 + run.bytes + entrySize - 1) / METADATA_SIZE) !== Math.floor(runStart / METADATA_SIZE))
      )
        flush();
      run ??= { block, number, count: 0, entries: [], bytes: 0, first: name };
      const e = Buffer.alloc(8);
      e.writeUInt16LE(ref % 65536, 0);
      e.writeInt16LE(number - run.number, 2);
      e.writeUInt16LE(BASIC[c.type], 4);
      e.writeUInt16LE(name.length - 1, 6);
      run.entries.push(e, name);
      run.count++;
      run.bytes += entrySize;
    }
    flush();
    return { start: start.block, offset: start.offset, fileSize: dirs.length - base + 3, index };
  };

  dirsPostOrder(tree.root, (dir, entries) => {
    for (const [, c] of entries) {
      if (!refs.has(c)) writeInode(c, nums.get(dir)!);
    }
    listings.set(dir, writeListing(dir));
  });
  const count = nums.size;
  // the root's parent: one past the last inode, as mksquashfs writes it
  writeInode(tree.root, count + 1);
  const byNumber: number[] = new Array(count);
  for (const [n, no] of nums) byNumber[no - 1] = refs.get(n)!;
  return {
    inodes: inodes.finish(),
    directories: dirs.finish(),
    rootRef: refs.get(tree.root)!,
    inodeCount: count,
    refs: byNumber,
    ids: [...ids.keys()],
    xattrKv: xattrKv.finish(),
    xattrIds,
    droppedXattrs,
  };
}
