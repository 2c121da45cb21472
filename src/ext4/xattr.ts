// Extended attributes on disk (kernel Documentation/filesystems/ext4/attributes.rst,
// fs/ext4/xattr.c; e2fsprogs lib/ext2fs/ext_attr.c).
// An entry: u8 name_len, u8 name_index, le16 value_offs, le32 value_inum (0), le32
// value_size, le32 hash, name (without the prefix its index stands for), padded to 4.
// Values sit at the end of their region, each padded to 4; entries end with 4 zero bytes.
// - In the inode: after i_extra_isize, le32 magic 0xEA020000, then entries; value_offs
//   counts from the first entry.
// - In a block: a 32-byte header (magic, refcount, blocks = 1, hash, checksum), entries
//   from byte 32 sorted by (index, name length, name) as the kernel's lookup requires;
//   value_offs counts from the block start. Identical blocks are shared (refcount).
// POSIX ACLs (system.posix_acl_*) are stored in ext4's own compact form (ext4_acl.h).

const PREFIXES: [string, number][] = [
  ['system.posix_acl_access', 2],
  ['system.posix_acl_default', 3],
  ['user.', 1],
  ['trusted.', 4],
  ['security.', 6],
  ['system.', 7],
];

export const XATTR_MAGIC = 0xea020000;

export interface XattrEntry {
  index: number;
  name: Buffer;
  value: Uint8Array;
  hash: number;
}

/** xattr name hash over the name and the value's little-endian words (ext4_xattr_hash_entry). */
function entryHash(name: Buffer, value: Uint8Array): number {
  let h = 0;
  for (const c of name) h = ((h << 5) ^ (h >>> 27) ^ c) >>> 0;
  const padded = Buffer.alloc((value.length + 3) & ~3);
  padded.set(value);
  for (let i = 0; i < padded.length; i += 4) h = ((h << 16) ^ (h >>> 16) ^ padded.readUInt32LE(i)) >>> 0;
  return h;
}

/**
 * POSIX ACL from the xattr form (le32 version 2, then 8-byte entries: le16 tag, le16
 * perm, le32 id) to ext4's (le32 version 1, then 4-byte entries for USER_OBJ, GROUP_OBJ,
 * MASK, OTHER and 8-byte ones with the id for USER and GROUP).
 */
function ext4Acl(value: Uint8Array, name: string): Uint8Array {
  const v = Buffer.from(value);
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== 2) throw new Error(`${name}: not a POSIX ACL (version 2) value`);
  const parts: Buffer[] = [Buffer.from([1, 0, 0, 0])];
  for (let o = 4; o < v.length; o += 8) {
    const tag = v.readUInt16LE(o);
    const withId = tag === 0x02 || tag === 0x08; // ACL_USER, ACL_GROUP
    const e = Buffer.alloc(withId ? 8 : 4);
    e.writeUInt16LE(tag, 0);
    e.writeUInt16LE(v.readUInt16LE(o + 2), 2);
    if (withId) e.writeUInt32LE(v.readUInt32LE(o + 4), 4);
    parts.push(e);
  }
  return Buffer.concat(parts);
}

/** The node's xattrs as ext4 entries, in the kernel's sorted order. */
export function xattrEntries(xattrs: Map<string, Uint8Array>): XattrEntry[] {
  const out: XattrEntry[] = [];
  for (const [full, raw] of xattrs) {
    const p = PREFIXES.find(([prefix, index]) => (index === 2 || index === 3 ? full === prefix : full.startsWith(prefix)));
    if (!p) throw new Error(`xattr ${full}: ext4 has no namespace for it (user., trusted., security., system.)`);
    const name = Buffer.from(full.slice(p[0].length), 'latin1');
    if (name.length > 255) throw new Error(`xattr ${full}: name longer than 255 bytes`);
    const value = p[1] === 2 || p[1] === 3 ? ext4Acl(raw, full) : raw;
    out.push({ index: p[1], name, value, hash: entryHash(name, value) });
  }
  return out.sort((a, b) => a.index - b.index || a.name.length - b.name.length || Buffer.compare(a.name, b.name));
}

const entrySize = (e: XattrEntry) => (16 + e.name.length + 3) & ~3;
const valueSize = (e: XattrEntry) => (e.value.length + 3) & ~3;

/** Lays entries into region [0, size): entries from `first`, values from the end down. */
function layEntries(entries: XattrEntry[], region: Buffer, first: number, offsBase: number): void {
  let at = first;
  let end = region.length;
  for (const e of entries) {
    end -= valueSize(e);
    region.set(e.value, end);
    region[at] = e.name.length;
    region[at + 1] = e.index;
    region.writeUInt16LE(end - offsBase, at + 2);
    region.writeUInt32LE(0, at + 4);
    region.writeUInt32LE(e.value.length, at + 8);
    region.writeUInt32LE(e.hash, at + 12);
    region.set(e.name, at + 16);
    at += entrySize(e);
  }
}

/**
 * Splits entries between the inode body (`room` bytes after i_extra_isize) and a block:
 * in order, each entry goes in the inode while it fits (the kernel tries the inode first).
 */
export function splitXattrs(entries: XattrEntry[], room: number): { inode: XattrEntry[]; block: XattrEntry[] } {
  const inode: XattrEntry[] = [];
  const block: XattrEntry[] = [];
  let used = 4 + 4; // magic + the terminating zero word
  for (const e of entries) {
    const need = entrySize(e) + valueSize(e);
    if (!block.length && used + need <= room) {
      inode.push(e);
      used += need;
    } else block.push(e);
  }
  if (block.length) {
    const size = block.reduce((s, e) => s + entrySize(e) + valueSize(e), 32 + 4);
    if (size > 4096) throw new Error(`xattrs need ${size} bytes, more than one 4 KiB block (ext4 without ea_inode)`);
  }
  return { inode, block };
}

/** The in-inode xattr region (magic + entries + values), `room` bytes long. */
export function inodeXattrs(entries: XattrEntry[], room: number): Buffer {
  const region = Buffer.alloc(room);
  region.writeUInt32LE(XATTR_MAGIC, 0);
  layEntries(entries, region, 4, 4);
  return region;
}

/** An xattr block without its checksum (set by the writer: it covers the block number). */
export function xattrBlock(entries: XattrEntry[], refcount: number, blockSize: number): Buffer {
  const b = Buffer.alloc(blockSize);
  b.writeUInt32LE(XATTR_MAGIC, 0);
  b.writeUInt32LE(refcount, 4);
  b.writeUInt32LE(1, 8);
  // h_hash: the entry hashes folded together (ext4_xattr_rehash)
  let h = 0;
  for (const e of entries) h = ((h << 16) ^ (h >>> 16) ^ e.hash) >>> 0;
  b.writeUInt32LE(h, 12);
  layEntries(entries, b, 32, 0);
  return b;
}

/** A key equal for equal entry lists: blocks with the same key are shared. */
export function xattrKey(entries: XattrEntry[]): string {
  return entries.map((e) => `${e.index}:${e.name.toString('hex')}=${Buffer.from(e.value).toString('hex')}`).join(',');
}
