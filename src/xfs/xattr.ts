// Extended attributes (xfs_da_format.h; XFS book "Extended Attributes"): the namespace
// is a flag, not part of the stored name — user. none, trusted. XFS_ATTR_ROOT,
// security. XFS_ATTR_SECURE. POSIX ACLs are stored in xfs's own form (fs/xfs/xfs_acl.c,
// xfs_acl.h): trusted-namespace names SGI_ACL_FILE / SGI_ACL_DEFAULT holding a be32 count
// and {be32 tag, be32 id, be16 perm, pad} entries, where the Linux xattr form (version 2)
// is {le16 tag, le16 perm, le32 id}. Forms: short form in the inode's attribute fork
// (xfs_attr_shortform) while small, else leaf blocks (xfs_attr3_leaf_hdr, hash-sorted
// entries, name records packed from the block's end; more than one under a dabtree node): a value stays local while its record
// is under 3/4 of a block (XFS_ATTR_LEAF_ENTSIZE_LOCAL_MAX), else it goes to remote value
// blocks (attribute fork blocks 1…, each with an xfs_attr3_rmt_hdr) and the leaf keeps
// its name, length and first block (xfs_attr_leaf_name_remote).
import { daHash } from './dahash.js';
import {
  ATTR3_LEAF_HDR,
  ATTR3_LEAF_MAGIC,
  ATTR3_RMT_HDR,
  ATTR3_RMT_MAGIC,
  ATTR_FLAG,
  ATTR_LEAF_ENTRY,
  ATTR_LEAF_LOCAL,
  ATTR_LEAF_REMOTE,
  ATTR_SF_ENTRY,
  ATTR_SF_HDR,
  BLOCK,
  DA3_BLKINFO,
  DA3_NODE_HDR,
  DA3_NODE_MAGIC,
  DA_NODE_ENTRY,
} from './format.js';

/** node entries per dabtree node block (xfs_da3_node_hdr, then 8-byte entries) */
const NODE_ENTS = (BLOCK - DA3_NODE_HDR.size) / DA_NODE_ENTRY.size;

export interface Attr {
  name: Buffer;
  flags: number;
  value: Buffer;
}

const ACL_NAMES: Record<string, string> = {
  'system.posix_acl_access': 'SGI_ACL_FILE',
  'system.posix_acl_default': 'SGI_ACL_DEFAULT',
};
/** the largest short-form attribute fork written (the rest of the literal area stays data) */
const SF_MAX = 168;

/** Linux ACL xattr (posix_acl_xattr.h, version 2) → struct xfs_acl. */
function xfsAcl(v: Uint8Array, where: () => string): Buffer {
  const b = Buffer.from(v);
  if (b.length < 4 || (b.length - 4) % 8 || b.readUInt32LE(0) !== 2)
    throw new Error(`xfs: ${where()}: a POSIX ACL that is not version 2 of the xattr form; fix the image's ACL`);
  const n = (b.length - 4) / 8;
  const out = Buffer.alloc(4 + 12 * n);
  out.writeUInt32BE(n, 0);
  for (let k = 0; k < n; k++) {
    out.writeUInt32BE(b.readUInt16LE(4 + 8 * k), 4 + 12 * k);
    out.writeUInt32BE(b.readUInt32LE(8 + 8 * k), 8 + 12 * k);
    out.writeUInt16BE(b.readUInt16LE(6 + 8 * k), 12 + 12 * k);
  }
  return out;
}

/** The tree's xattrs as xfs attributes, in name order; unknown namespaces are an error. */
export function attrsOf(xattrs: ReadonlyMap<string, Uint8Array>, where: () => string): Attr[] {
  const out: Attr[] = [];
  for (const key of [...xattrs.keys()].sort()) {
    const value = xattrs.get(key)!;
    const dot = key.indexOf('.');
    const ns = key.slice(0, dot);
    const rest = Buffer.from(key.slice(dot + 1), 'latin1');
    if (rest.length > 255)
      throw new Error(
        `xfs: ${where()}: xattr name of ${rest.length} bytes, xfs holds at most 255; shorten it in the image`,
      );
    if (ACL_NAMES[key])
      out.push({ name: Buffer.from(ACL_NAMES[key]), flags: ATTR_FLAG.root, value: xfsAcl(value, where) });
    else if (ns === 'user') out.push({ name: rest, flags: 0, value: Buffer.from(value) });
    else if (ns === 'trusted') out.push({ name: rest, flags: ATTR_FLAG.root, value: Buffer.from(value) });
    else if (ns === 'security') out.push({ name: rest, flags: ATTR_FLAG.secure, value: Buffer.from(value) });
    else throw new Error(`xfs: ${where()}: xattr ${key}: xfs has no namespace for it; remove it from the image`);
  }
  return out;
}

/** The short-form attribute fork, or null when the attributes need a leaf block. */
export function shortFormAttrs(attrs: Attr[]): Buffer | null {
  if (attrs.some((a) => a.value.length > 255)) return null;
  const size = ATTR_SF_HDR.size + attrs.reduce((s, a) => s + ATTR_SF_ENTRY.size + a.name.length + a.value.length, 0);
  if (size > SF_MAX) return null;
  const b = Buffer.alloc(Math.ceil(size / 8) * 8);
  ATTR_SF_HDR.encode({ totsize: size, count: attrs.length }, b);
  let at = ATTR_SF_HDR.size;
  for (const a of attrs) {
    ATTR_SF_ENTRY.encode({ namelen: a.name.length, valuelen: a.value.length, flags: a.flags }, b, at);
    a.name.copy(b, at + ATTR_SF_ENTRY.size);
    a.value.copy(b, at + ATTR_SF_ENTRY.size + a.name.length);
    at += ATTR_SF_ENTRY.size + a.name.length + a.value.length;
  }
  return b;
}

const localSize = (a: Attr) => Math.ceil((ATTR_LEAF_LOCAL.size + a.name.length + a.value.length) / 4) * 4;
const isLocal = (a: Attr) => localSize(a) < (BLOCK * 3) / 4;
/** xfs_attr_leaf_entsize_remote: sizeof(struct xfs_attr_leaf_name_remote) - 1 + namelen, where
 *  the struct (9 bytes of fields, then name[1]) is padded to 12 — so 11 + namelen, rounded to 4 */
const REMOTE_BASE = 11;
const recordSize = (a: Attr) => (isLocal(a) ? localSize(a) : Math.ceil((REMOTE_BASE + a.name.length) / 4) * 4);
const RMT_DATA = BLOCK - ATTR3_RMT_HDR.size;

/** A value's remote blocks; the header's uuid, owner, block number and CRC are filled when placed. */
function remoteBlocks(value: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < value.length; at += RMT_DATA) {
    const b = Buffer.alloc(BLOCK);
    const part = value.subarray(at, at + RMT_DATA);
    ATTR3_RMT_HDR.encode({ magic: ATTR3_RMT_MAGIC, offset: at, bytes: part.length }, b);
    part.copy(b, ATTR3_RMT_HDR.size);
    out.push(b);
  }
  return out;
}

/** Writes one name record at `top`; remote values get fork blocks `firstRemote` on. */
function putRecord(b: Buffer, top: number, a: Attr, remote: Buffer[], firstRemote: number): void {
  if (isLocal(a)) {
    ATTR_LEAF_LOCAL.encode({ valuelen: a.value.length, namelen: a.name.length }, b, top);
    a.name.copy(b, top + ATTR_LEAF_LOCAL.size);
    a.value.copy(b, top + ATTR_LEAF_LOCAL.size + a.name.length);
    return;
  }
  ATTR_LEAF_REMOTE.encode(
    { valueblk: firstRemote + remote.length, valuelen: a.value.length, namelen: a.name.length },
    b,
    top,
  );
  a.name.copy(b, top + ATTR_LEAF_REMOTE.size);
  remote.push(...remoteBlocks(a.value));
}

interface Hashed {
  a: Attr;
  hash: number;
}

/** Hash-ordered attributes cut into leaves, each as full as its block allows. */
function splitLeaves(sorted: Hashed[]): Hashed[][] {
  const out: Hashed[][] = [[]];
  let used = ATTR3_LEAF_HDR.size;
  for (const h of sorted) {
    const need = ATTR_LEAF_ENTRY.size + recordSize(h.a);
    if (used + need > BLOCK && out[out.length - 1].length) {
      out.push([]);
      used = ATTR3_LEAF_HDR.size;
    }
    out[out.length - 1].push(h);
    used += need;
  }
  return out;
}

function leafBlock(part: Hashed[], remote: Buffer[], firstRemote: number, forw: number, back: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  DA3_BLKINFO.encode({ magic: ATTR3_LEAF_MAGIC, forw, back }, b);
  let top = BLOCK;
  part.forEach(({ a, hash }, k) => {
    top -= recordSize(a);
    putRecord(b, top, a, remote, firstRemote);
    ATTR_LEAF_ENTRY.encode(
      { hashval: hash, nameidx: top, flags: a.flags | (isLocal(a) ? ATTR_FLAG.local : 0) },
      b,
      ATTR3_LEAF_HDR.size + 8 * k,
    );
  });
  const base = ATTR3_LEAF_HDR.size + part.length * ATTR_LEAF_ENTRY.size;
  ATTR3_LEAF_HDR.encode(
    { count: part.length, usedbytes: BLOCK - top, firstused: top, free0_base: base, free0_size: top - base },
    b,
  );
  return b;
}

/**
 * The attribute fork's blocks: one leaf, or (when the names need more) a dabtree node at
 * fork block 0 over leaves at blocks 1…; then the remote value blocks.
 */
export function attrBlocks(attrs: Attr[], where: () => string): { dabtree: Buffer[]; remote: Buffer[] } {
  const sorted = attrs.map((a) => ({ a, hash: daHash(a.name) })).sort((x, y) => x.hash - y.hash);
  const leaves = splitLeaves(sorted);
  const remote: Buffer[] = [];
  if (leaves.length === 1) return { dabtree: [leafBlock(leaves[0], remote, 1, 0, 0)], remote };
  if (leaves.length > NODE_ENTS)
    throw new Error(
      `xfs: ${where()}: ${attrs.length} xattrs need an attribute dabtree deeper than one node; not written yet`,
    );
  const first = 1 + leaves.length;
  const node = Buffer.alloc(BLOCK);
  DA3_BLKINFO.encode({ magic: DA3_NODE_MAGIC }, node);
  DA3_NODE_HDR.encode({ count: leaves.length, level: 1 }, node);
  const blocks = leaves.map((part, k) => {
    DA_NODE_ENTRY.encode({ hashval: part[part.length - 1].hash, before: 1 + k }, node, DA3_NODE_HDR.size + 8 * k);
    return leafBlock(part, remote, first, k + 1 < leaves.length ? 2 + k : 0, k);
  });
  return { dabtree: [node, ...blocks], remote };
}
