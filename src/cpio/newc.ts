// newc cpio writer: the format the Linux kernel unpacks as an initramfs.
//
// Sources: the kernel's Documentation/driver-api/early-userspace/buffer-format.rst,
// init/initramfs.c and usr/gen_init_cpio.c.
//
// Each entry is a 110-byte ASCII header (NEWC below), the NUL-terminated name, padding to a
// multiple of 4, the data, padding to a multiple of 4:
//   c_magic "070701" | ino | mode | uid | gid | nlink | mtime | filesize |
//   devmajor | devminor | rdevmajor | rdevminor | namesize (with the NUL) | check
// every field after the magic being 8 hex digits. filesize is 0 except for regular
// files and symlinks (whose data is the target). The archive ends with an entry named
// "TRAILER!!!". Rules the kernel relies on:
// - it creates no missing parents: a directory must come before what is in it
//   (the tree's walk gives parents first);
// - hard links: every name of a file has nlink ≥ 2 and the same (devmajor, devminor,
//   ino); the data goes with one of them and the others have filesize 0 (we put it on
//   the first, which init/initramfs.c's maybe_link() and both GNU cpio and libarchive
//   accept);
// - fields are 32 bits: files of 4 GiB or more, times before 1970 or after 2106, and
//   ids over 2^32 − 1 do not fit.
// - a file named TRAILER!!! at the root would end the archive early: GNU cpio
//   (copyin.c) and libarchive (archive_read_support_format_cpio.c) stop at the first
//   entry whose whole name is "TRAILER!!!", and the kernel (init/initramfs.c, do_name)
//   skips that entry and forgets the hard links seen so far; all three compare the
//   whole name, so that one entry is written as "./TRAILER!!!", which every reader
//   takes as the same path and none as the end.
// Inode numbers are assigned in walk order from 1 (the root "." is 1), so the same
// tree always gives the same archive. xattrs have no place in newc: the caller is
// told how many were left out.
import { drainSync } from '../chunks.js';
import { S_IF } from '../posix.js';
import { readContent } from '../tree/content.js';
import { checkLimits } from '../tree/limits.js';
import { linkCounts, type Node, type Tree } from '../tree/tree.js';
import { defineStruct, type Record_ } from '../struct.js';
import { NEWC_LIMITS } from './limits.js';

/**
 * The newc header (buffer-format.rst's field names; usr/gen_init_cpio.c writes it with
 * one sprintf): ASCII, the magic then 8 hex digits per field.
 */
const NEWC = defineStruct('newc header', 110, {
  c_magic: [0, 'bytes', 6],
  c_ino: [6, 'bytes', 8],
  c_mode: [14, 'bytes', 8],
  c_uid: [22, 'bytes', 8],
  c_gid: [30, 'bytes', 8],
  c_nlink: [38, 'bytes', 8],
  c_mtime: [46, 'bytes', 8],
  c_filesize: [54, 'bytes', 8],
  c_maj: [62, 'bytes', 8],
  c_min: [70, 'bytes', 8],
  c_rmaj: [78, 'bytes', 8],
  c_rmin: [86, 'bytes', 8],
  c_namesize: [94, 'bytes', 8],
  c_chksum: [102, 'bytes', 8],
});
type NewcField = Exclude<keyof typeof NEWC.fields, 'c_magic'>;
const NEWC_MAGIC = Buffer.from('070701', 'latin1');

const MAX32 = 0xffffffff;
const TRAILER = Buffer.from('TRAILER!!!');

/** The name an entry is stored under: its path, but "./TRAILER!!!" for a root-level TRAILER!!! (see above). */
function archiveName(path: Buffer): Buffer {
  return path.equals(TRAILER) ? Buffer.from('./TRAILER!!!') : path;
}

export interface NewcResult {
  /** names whose node carries xattrs newc cannot hold */
  droppedXattrs: number;
}

function hex8(n: number, what: string, name: string): string {
  if (!Number.isInteger(n) || n < 0 || n > MAX32) {
    throw new Error(`cpio: ${what} ${n} of "${name}" does not fit the newc format (0 to ${MAX32})`);
  }
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/**
 * Writes the tree as a newc archive through `out` (called with chunks in order; a
 * chunk may be reused by the caller only after `out` returns).
 */
export function writeNewc(tree: Tree, out: (chunk: Uint8Array) => void): NewcResult {
  return drainSync(newcChunks(tree), out);
}

/** The tree as a newc archive, chunk by chunk (a chunk may be reused once the next is asked for). */
export function* newcChunks(tree: Tree): Generator<Uint8Array, NewcResult> {
  checkLimits(tree, NEWC_LIMITS);
  const nlinks = linkCounts(tree);
  const inodes = new Map<Node, number>();
  const written = new Set<Node>();
  let droppedXattrs = 0;

  function* entry(name: Buffer, node: Node | null, ino: number, nlink: number): Generator<Uint8Array> {
    const display = name.toString('utf8');
    let size = 0;
    let data: Iterable<Uint8Array> = [];
    if (node?.type === 'file' && !written.has(node)) {
      size = node.content.size;
      data = readContent(node.content);
      written.add(node);
    } else if (node?.type === 'symlink') {
      size = node.target.length;
      data = [node.target];
    }
    if (node && node.xattrs.size) droppedXattrs++;
    const rdev = node?.type === 'char' || node?.type === 'block' ? node.rdev : undefined;
    // [field, value, what it is in an error]
    const fields: [NewcField, number, string][] = [
      ['c_ino', ino, 'inode'],
      ['c_mode', node ? S_IF[node.type] | node.mode : 0, 'mode'],
      ['c_uid', node?.uid ?? 0, 'uid'],
      ['c_gid', node?.gid ?? 0, 'gid'],
      ['c_nlink', nlink, 'link count'],
      ['c_mtime', Math.min(Math.max(node?.mtime.sec ?? 0, 0), MAX32), 'mtime'],
      ['c_filesize', size, 'size'],
      ['c_maj', 0, ''],
      ['c_min', 0, ''],
      ['c_rmaj', rdev?.major ?? 0, 'device major'],
      ['c_rmin', rdev?.minor ?? 0, 'device minor'],
      ['c_namesize', name.length + 1, 'name size'],
      ['c_chksum', 0, ''],
    ];
    const header: Record_<typeof NEWC.fields> = { c_magic: NEWC_MAGIC };
    for (const [field, value, what] of fields) header[field] = Buffer.from(hex8(value, what, display), 'latin1');
    const head = Buffer.alloc(NEWC.size + name.length + 1 + pad4(NEWC.size + name.length + 1));
    NEWC.encode(header, head);
    name.copy(head, NEWC.size);
    yield head;
    let n = 0;
    for (const chunk of data) {
      yield chunk;
      n += chunk.length;
    }
    if (n !== size) throw new Error(`cpio: "${display}" gave ${n} bytes, expected ${size}`);
    if (pad4(size)) yield new Uint8Array(pad4(size));
  }

  inodes.set(tree.root, 1);
  yield* entry(Buffer.from('.'), tree.root, 1, nlinks.get(tree.root) ?? 2);
  for (const { path, node } of tree.walk()) {
    let ino = inodes.get(node);
    if (ino === undefined) inodes.set(node, (ino = inodes.size + 1));
    yield* entry(archiveName(path), node, ino, nlinks.get(node) ?? 1);
  }
  yield* entry(TRAILER, null, 0, 1);
  return { droppedXattrs };
}
