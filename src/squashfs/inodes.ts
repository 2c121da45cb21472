// Inodes, one encoder per type (squashfs-tools-ng doc/format.adoc "Inode Table",
// include/sqfs/inode.h; the kernel's fs/squashfs/inode.c; mksquashfs.c for when the
// extended kind is used). Every inode is a sqfs_inode_t (type, permission bits, uid and
// gid indexes into the id table, mtime as unsigned seconds, number) and its type's body.
// The extended kind (type + 7) is used when the basic one cannot say it all: xattrs; for
// directories an index or a listing over 64 KiB; for files hard links, holes or a size or
// position past 4 GiB. A hard link is one inode with several directory entries; its link
// count is the number of names.
import { newEncodeDev, S_IALLUGO } from '../posix.js';
import type { Node } from '../tree/tree.js';
import type { FileData } from './data.js';
import type { Listing } from './directory.js';
import {
  BLOCK_SIZE,
  encodeArray,
  EXT_INODE_OFFSET,
  INODE,
  INODE_DEV,
  INODE_DEV_EXT,
  INODE_DIR,
  INODE_DIR_EXT,
  INODE_DIR_SIZE_MAX,
  INODE_FILE,
  INODE_FILE_EXT,
  INODE_FILE_LIMIT,
  INODE_IPC,
  INODE_IPC_EXT,
  INODE_SLINK,
  INODE_SLINK_EXT_TAIL,
  NO_FRAGMENT,
  NO_XATTR,
  SQFS_INODE,
} from './format.js';

/** mod_time is a u32 of seconds */
const TIME_MAX = 2 ** 32 - 1;

/** What every inode body needs besides its node. */
export interface InodeCommon {
  nlink: number;
  /** index into the xattr id table, or NO_XATTR */
  xattr: number;
}

/** An inode's type (basic or extended) and its body after the sqfs_inode_t. */
export interface InodeBody {
  type: number;
  body: Buffer;
}

export function clampTime(sec: number): number {
  return Math.min(TIME_MAX, Math.max(0, Math.floor(sec)));
}

function kind(basic: number, extended: boolean): number {
  return extended ? basic + EXT_INODE_OFFSET : basic;
}

export function dirInode(l: Listing, parent: number, c: InodeCommon): InodeBody {
  const ext = c.xattr !== NO_XATTR || l.index.length > 0 || l.fileSize > INODE_DIR_SIZE_MAX;
  const type = kind(SQFS_INODE.dir, ext);
  if (!ext) {
    const body = INODE_DIR.encode({
      start_block: l.start,
      nlink: c.nlink,
      size: l.fileSize,
      offset: l.offset,
      parent_inode: parent,
    });
    return { type, body };
  }
  const head = INODE_DIR_EXT.encode({
    nlink: c.nlink,
    size: l.fileSize,
    start_block: l.start,
    parent_inode: parent,
    inodex_count: l.index.length,
    offset: l.offset,
    xattr_idx: c.xattr,
  });
  return { type, body: Buffer.concat([head, ...l.index]) };
}

const NO_DATA: FileData = { start: 0, sizes: [], fragment: NO_FRAGMENT, fragmentOffset: 0, sparse: 0 };

export function fileInode(size: number, data: FileData | undefined, c: InodeCommon): InodeBody {
  const d = data ?? NO_DATA;
  const sizes = encodeArray(BLOCK_SIZE, 'size', d.sizes);
  const ext =
    c.xattr !== NO_XATTR || c.nlink > 1 || d.sparse > 0 || size >= INODE_FILE_LIMIT || d.start >= INODE_FILE_LIMIT;
  const type = kind(SQFS_INODE.file, ext);
  const head = ext
    ? INODE_FILE_EXT.encode({
        blocks_start: d.start,
        file_size: size,
        sparse: d.sparse,
        nlink: c.nlink,
        fragment_idx: d.fragment,
        fragment_offset: d.fragmentOffset,
        xattr_idx: c.xattr,
      })
    : INODE_FILE.encode({
        blocks_start: d.start,
        fragment_index: d.fragment,
        fragment_offset: d.fragmentOffset,
        file_size: size,
      });
  return { type, body: Buffer.concat([head, sizes]) };
}

export function symlinkInode(target: Uint8Array, c: InodeCommon): InodeBody {
  const ext = c.xattr !== NO_XATTR;
  const head = INODE_SLINK.encode({ nlink: c.nlink, target_size: target.length });
  const tail = ext ? [INODE_SLINK_EXT_TAIL.encode({ xattr_idx: c.xattr })] : [];
  return { type: kind(SQFS_INODE.symlink, ext), body: Buffer.concat([head, target, ...tail]) };
}

export function deviceInode(type: 'char' | 'block', rdev: { major: number; minor: number }, c: InodeCommon): InodeBody {
  const ext = c.xattr !== NO_XATTR;
  const devno = newEncodeDev(rdev);
  const body = ext
    ? INODE_DEV_EXT.encode({ nlink: c.nlink, devno, xattr_idx: c.xattr })
    : INODE_DEV.encode({ nlink: c.nlink, devno });
  return { type: kind(SQFS_INODE[type], ext), body };
}

export function ipcInode(type: 'fifo' | 'socket', c: InodeCommon): InodeBody {
  const ext = c.xattr !== NO_XATTR;
  const body = ext
    ? INODE_IPC_EXT.encode({ nlink: c.nlink, xattr_idx: c.xattr })
    : INODE_IPC.encode({ nlink: c.nlink });
  return { type: kind(SQFS_INODE[type], ext), body };
}

/** The whole inode: its sqfs_inode_t, then the body. */
export function encodeInode(n: Node, b: InodeBody, ids: { uid: number; gid: number }, number: number): Buffer {
  const head = INODE.encode({
    type: b.type,
    mode: n.mode & S_IALLUGO,
    uid_idx: ids.uid,
    gid_idx: ids.gid,
    mod_time: clampTime(n.mtime.sec),
    inode_number: number,
  });
  return Buffer.concat([head, b.body]);
}
