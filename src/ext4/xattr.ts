// Extended attributes on disk (kernel Documentation/filesystems/ext4/attributes.rst,
// fs/ext4/xattr.c; e2fsprogs lib/ext2fs/ext_attr.c; structures in format.ts).
// An ext4_xattr_entry (e_value_inum 0), then the name without the prefix its index
// stands for, padded to 4. Values sit at the end of their region, each padded to 4;
// entries end with 4 zero bytes.
// - In the inode: after i_extra_isize, an ext4_xattr_ibody_header, then entries;
//   e_value_offs counts from the first entry.
// - In a block: an ext4_xattr_header (h_blocks 1), entries after it sorted by (index,
//   name length, name) as the kernel's lookup requires; e_value_offs counts from the
//   block start. Identical blocks are shared (h_refcount).
// POSIX ACLs (system.posix_acl_*) are stored in ext4's own compact form (fs/ext4/acl.h).
import { crc32c } from './crc32c.js';
import {
  ACL_ENTRY,
  ACL_ENTRY_SHORT,
  ACL_GROUP,
  ACL_HEADER,
  ACL_USER,
  BLOCK,
  EXT4_ACL_VERSION,
  POSIX_ACL_XATTR_ENTRY,
  POSIX_ACL_XATTR_HEADER,
  POSIX_ACL_XATTR_VERSION,
  XATTR_END,
  XATTR_ENTRY,
  XATTR_HEADER,
  XATTR_IBODY_HEADER,
  XATTR_MAGIC,
} from './format.js';

/** xattr.h EXT4_XATTR_INDEX_*: the name prefix each e_name_index stands for. */
const PREFIXES: [string, number][] = [
  ['system.posix_acl_access', 2],
  ['system.posix_acl_default', 3],
  ['user.', 1],
  ['trusted.', 4],
  ['security.', 6],
  ['system.', 7],
];

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
 * POSIX ACL from the xattr form (posix_acl_xattr_header version 2, then
 * posix_acl_xattr_entry) to ext4's (ext4_acl_header version 1, then ext4_acl_entry_short
 * for USER_OBJ, GROUP_OBJ, MASK, OTHER and ext4_acl_entry, with the id, for USER and GROUP).
 */
function ext4Acl(value: Uint8Array, name: string): Uint8Array {
  const head = POSIX_ACL_XATTR_HEADER.size;
  const size = POSIX_ACL_XATTR_ENTRY.size;
  const v = Buffer.from(value);
  if (
    v.length < head ||
    (v.length - head) % size !== 0 ||
    POSIX_ACL_XATTR_HEADER.decode(v).a_version !== POSIX_ACL_XATTR_VERSION
  ) {
    throw new Error(`${name}: not a POSIX ACL (version 2) value`);
  }
  const parts: Buffer[] = [ACL_HEADER.encode({ a_version: EXT4_ACL_VERSION })];
  for (let o = head; o < v.length; o += size) {
    const { e_tag, e_perm, e_id } = POSIX_ACL_XATTR_ENTRY.decode(v, o);
    const withId = e_tag === ACL_USER || e_tag === ACL_GROUP;
    parts.push(withId ? ACL_ENTRY.encode({ e_tag, e_perm, e_id }) : ACL_ENTRY_SHORT.encode({ e_tag, e_perm }));
  }
  return Buffer.concat(parts);
}

/** The node's xattrs as ext4 entries, in the kernel's sorted order. */
export function xattrEntries(xattrs: ReadonlyMap<string, Uint8Array>): XattrEntry[] {
  const out: XattrEntry[] = [];
  for (const [full, raw] of xattrs) {
    const p = PREFIXES.find(([prefix, index]) =>
      index === 2 || index === 3 ? full === prefix : full.startsWith(prefix),
    );
    if (!p) throw new Error(`xattr ${full}: ext4 has no namespace for it (user., trusted., security., system.)`);
    const name = Buffer.from(full.slice(p[0].length), 'latin1');
    if (name.length > 255) throw new Error(`xattr ${full}: name longer than 255 bytes`);
    const value = p[1] === 2 || p[1] === 3 ? ext4Acl(raw, full) : raw;
    out.push({ index: p[1], name, value, hash: entryHash(name, value) });
  }
  return out.sort((a, b) => a.index - b.index || a.name.length - b.name.length || Buffer.compare(a.name, b.name));
}

/** EXT4_XATTR_LEN, EXT4_XATTR_SIZE: an entry with its name, a value, each padded to 4. */
const entrySize = (e: XattrEntry) => (XATTR_ENTRY.size + e.name.length + 3) & ~3;
const valueSize = (e: XattrEntry) => (e.value.length + 3) & ~3;

/** Lays entries into region [0, size): entries from `first`, values from the end down. */
function layEntries(entries: XattrEntry[], region: Buffer, first: number, offsBase: number): void {
  let at = first;
  let end = region.length;
  for (const e of entries) {
    end -= valueSize(e);
    region.set(e.value, end);
    XATTR_ENTRY.encode(
      {
        e_name_len: e.name.length,
        e_name_index: e.index,
        e_value_offs: end - offsBase,
        e_value_size: e.value.length,
        e_hash: e.hash,
      },
      region,
      at,
    );
    region.set(e.name, at + XATTR_ENTRY.size);
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
  let used = XATTR_IBODY_HEADER.size + XATTR_END;
  for (const e of entries) {
    const need = entrySize(e) + valueSize(e);
    if (!block.length && used + need <= room) {
      inode.push(e);
      used += need;
    } else block.push(e);
  }
  if (block.length) {
    const size = block.reduce((s, e) => s + entrySize(e) + valueSize(e), XATTR_HEADER.size + XATTR_END);
    if (size > BLOCK) throw new Error(`xattrs need ${size} bytes, more than one 4 KiB block (ext4 without ea_inode)`);
  }
  return { inode, block };
}

/** The in-inode xattr region (magic + entries + values), `room` bytes long. */
export function inodeXattrs(entries: XattrEntry[], room: number): Buffer {
  const region = Buffer.alloc(room);
  XATTR_IBODY_HEADER.encode({ h_magic: XATTR_MAGIC }, region);
  layEntries(entries, region, XATTR_IBODY_HEADER.size, XATTR_IBODY_HEADER.size);
  return region;
}

/** An xattr block without its checksum (sealXattrBlock: it covers the block number). */
export function xattrBlock(entries: XattrEntry[], refcount: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  // h_hash: the entry hashes folded together (ext4_xattr_rehash)
  let h = 0;
  for (const e of entries) h = ((h << 16) ^ (h >>> 16) ^ e.hash) >>> 0;
  XATTR_HEADER.encode({ h_magic: XATTR_MAGIC, h_refcount: refcount, h_blocks: 1, h_hash: h }, b);
  layEntries(entries, b, XATTR_HEADER.size, 0);
  return b;
}

/** h_checksum: crc32c(fs seed, le64 block number, the block with h_checksum zero) (ext4_xattr_block_csum). */
export function sealXattrBlock(b: Buffer, block: number, fsSeed: number): void {
  const id = Buffer.alloc(8);
  id.writeBigUInt64LE(BigInt(block));
  XATTR_HEADER.encode({ h_checksum: crc32c(crc32c(fsSeed, id), b) }, b);
}

/** A key equal for equal entry lists: blocks with the same key are shared. */
export function xattrKey(entries: XattrEntry[]): string {
  return entries.map((e) => `${e.index}:${e.name.toString('hex')}=${Buffer.from(e.value).toString('hex')}`).join(',');
}
