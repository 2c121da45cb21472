// The filesystem tree's items, generated in key order: for each inode (by number) its
// INODE_ITEM, INODE_REFs (by parent), XATTR_ITEMs (by name hash), then for a directory
// DIR_ITEMs (by name hash) and DIR_INDEXes (by index), and for a file or symlink its
// EXTENT_DATA items (by file offset). Items that share a key (two names, or two xattrs,
// with one hash; two names of one inode in one directory) are packed into one item, as
// the kernel does (btrfs.readthedocs.io "On-disk format": DIR_ITEM, INODE_REF, XATTR_ITEM).
import { mkdev, S_IF } from '../posix.js';
import { readRange } from '../tree/content.js';
import { contentOf, type Node, type Time } from '../tree/tree.js';
import { type Item, LEAF_DATA } from './btree.js';
import { nameHash } from './checksum.js';
import { dirItem, FILE_EXTENT, fileExtentHead, fileExtentReg, FT, inodeItem, inodeRef, KEY } from './format.js';
import { type Inode, isInline } from './inodes.js';

const FT_OF: Record<Node['type'], number> = {
  file: FT.REG_FILE,
  dir: FT.DIR,
  char: FT.CHRDEV,
  block: FT.BLKDEV,
  fifo: FT.FIFO,
  socket: FT.SOCK,
  symlink: FT.SYMLINK,
};

/** The kernel's dev_t, as btrfs stores inode->i_rdev: MKDEV(major, minor) = major << 20 | minor. */
function rdevOf(node: Node): number {
  return node.type === 'char' || node.type === 'block' ? mkdev(node.rdev) : 0;
}

/** struct btrfs_timespec: seconds as a signed 64-bit number (two's complement before 1970). */
function times(t: Time) {
  const sec = BigInt.asUintN(64, BigInt(t.sec));
  return {
    atimeSec: sec,
    atimeNsec: t.nsec,
    ctimeSec: sec,
    ctimeNsec: t.nsec,
    mtimeSec: sec,
    mtimeNsec: t.nsec,
    otimeSec: sec,
    otimeNsec: t.nsec,
  };
}

/** An inode item; exported for the root tree's and the relocation tree's own directories. */
export function encodeInodeItem(v: {
  generation: number;
  size: number;
  nbytes: number;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  rdev: number;
  time: Time;
}): Buffer {
  return inodeItem.encode({
    generation: v.generation,
    transid: v.generation,
    size: v.size,
    nbytes: v.nbytes,
    nlink: v.nlink,
    uid: v.uid,
    gid: v.gid,
    mode: v.mode,
    rdev: v.rdev,
    ...times(v.time),
  });
}

function sizes(i: Inode): { size: number; nbytes: number } {
  const n = i.node;
  if (n.type === 'dir') return { size: 2 * i.entries!.reduce((s, e) => s + e.name.length, 0), nbytes: 0 };
  if (n.type === 'symlink') return { size: n.target.length, nbytes: n.target.length };
  if (n.type !== 'file') return { size: 0, nbytes: 0 };
  const size = n.content.size;
  return { size, nbytes: isInline(n) ? size : i.extents.reduce((s, e) => s + e.length, 0) };
}

/** A dir_item with its name and data: for DIR_ITEM, DIR_INDEX (location = the inode) and XATTR_ITEM. */
function dirEntry(ino: number, type: number, name: Buffer, data: Uint8Array, transid: number): Buffer {
  const head = dirItem.encode({
    locationObjectid: ino,
    locationType: ino ? KEY.INODE_ITEM : 0,
    transid,
    dataLen: data.length,
    nameLen: name.length,
    type,
  });
  return Buffer.concat([head, name, data]);
}

/** Entries sharing a name hash become one item, in hash order. */
function hashed(objectid: bigint, type: number, entries: { name: Buffer; bytes: Buffer }[]): Item[] {
  const byHash = new Map<number, Buffer[]>();
  for (const e of entries) {
    const h = nameHash(e.name);
    byHash.set(h, [...(byHash.get(h) ?? []), e.bytes]);
  }
  return [...byHash.keys()]
    .sort((a, b) => a - b)
    .map((h) => ({ objectid, type, offset: BigInt(h), data: Buffer.concat(byHash.get(h)!) }));
}

/** The largest item a leaf holds: its data plus one item header. */
const MAX_ITEM = LEAF_DATA - 25;

/** One INODE_REF per parent directory, holding every name the inode has there. */
function refItems(i: Inode): Item[] {
  const byParent = new Map<number, Buffer[]>();
  for (const r of i.refs) {
    const parts = byParent.get(r.parent) ?? [];
    parts.push(inodeRef.encode({ index: r.index, nameLen: r.name.length }), r.name);
    byParent.set(r.parent, parts);
  }
  return [...byParent.keys()]
    .sort((a, b) => a - b)
    .map((p) => {
      const data = Buffer.concat(byParent.get(p)!);
      if (data.length > MAX_ITEM)
        throw new Error(
          `btrfs: ${i.path}: ${data.length} bytes of hard-link names in one directory, more than one ` +
            `item holds (${MAX_ITEM}); this writer does not write extended inode refs — drop some of its hard links`,
        );
      return { objectid: BigInt(i.ino), type: KEY.INODE_REF, offset: BigInt(p), data };
    });
}

function xattrItems(i: Inode, gen: number): Item[] {
  const entries = [...i.node.xattrs].map(([k, v]) => {
    const name = Buffer.from(k, 'utf8');
    const bytes = dirEntry(0, FT.XATTR, name, v, gen);
    // BTRFS_MAX_XATTR_SIZE: an xattr is one item in one leaf
    if (bytes.length > MAX_ITEM)
      throw new Error(
        `btrfs: ${i.path}: xattr ${k} of ${v.length} bytes does not fit in one item (${MAX_ITEM - 30 - name.length} bytes at most); drop or shorten it`,
      );
    return { name, bytes };
  });
  return hashed(BigInt(i.ino), KEY.XATTR_ITEM, entries);
}

function dirItems(i: Inode, ftOf: (ino: number) => number, gen: number): Item[] {
  const id = BigInt(i.ino);
  const byName = i.entries!.map((e) => ({
    name: e.name,
    bytes: dirEntry(e.ino, ftOf(e.ino), e.name, Buffer.alloc(0), gen),
  }));
  const byIndex = i.entries!.map((e, k) => ({
    objectid: id,
    type: KEY.DIR_INDEX,
    offset: BigInt(e.index),
    data: byName[k].bytes,
  }));
  return hashed(id, KEY.DIR_ITEM, byName).concat(byIndex);
}

function inlineBytes(node: Node): Buffer {
  if (node.type === 'symlink') return Buffer.from(node.target);
  const content = contentOf(node);
  return Buffer.concat([...readRange(content, 0, content.size)]);
}

function extentItems(i: Inode, gen: number): Item[] {
  const id = BigInt(i.ino);
  if (i.node.type === 'symlink' || isInline(i.node)) {
    const bytes = inlineBytes(i.node);
    const head = fileExtentHead.encode({ generation: gen, ramBytes: bytes.length, type: FILE_EXTENT.INLINE });
    return [{ objectid: id, type: KEY.EXTENT_DATA, offset: 0n, data: Buffer.concat([head, bytes]) }];
  }
  return i.extents.map((e) => ({
    objectid: id,
    type: KEY.EXTENT_DATA,
    offset: BigInt(e.fileOffset),
    data: fileExtentReg.encode({
      generation: gen,
      ramBytes: e.length,
      type: FILE_EXTENT.REG,
      diskBytenr: e.bytenr,
      diskNumBytes: e.length,
      offset: 0,
      numBytes: e.length,
    }),
  }));
}

/** Every item of the filesystem tree, in key order. */
export function fsTreeItems(inodes: Inode[], gen: number): Item[] {
  const ftOf = (ino: number) => FT_OF[inodes[ino - inodes[0].ino].node.type];
  const out: Item[] = [];
  for (const i of inodes) {
    const n = i.node;
    const { size, nbytes } = sizes(i);
    const data = encodeInodeItem({
      generation: gen,
      size,
      nbytes,
      nlink: i.nlink,
      uid: n.uid,
      gid: n.gid,
      mode: S_IF[n.type] | n.mode,
      rdev: rdevOf(n),
      time: n.mtime,
    });
    const rest =
      n.type === 'dir' ? dirItems(i, ftOf, gen) : n.type === 'file' || n.type === 'symlink' ? extentItems(i, gen) : [];
    // one push per item: a directory can hold more items than a call has room for arguments
    for (const it of [
      { objectid: BigInt(i.ino), type: KEY.INODE_ITEM, offset: 0n, data },
      ...refItems(i),
      ...xattrItems(i, gen),
    ])
      out.push(it);
    for (const it of rest) out.push(it);
  }
  return out;
}
