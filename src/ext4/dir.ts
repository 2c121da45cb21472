// Directory blocks (kernel Documentation/filesystems/ext4/directory.rst, fs/ext4/namei.c;
// structures in format.ts). An ext4_dir_entry_2 then its name; rec_len is a multiple of 4
// and the last entry of a block reaches the block's end. With metadata_csum every leaf
// block ends with an ext4_dir_entry_tail (crc32c of the block before it, seeded by the
// inode).
// A directory of one block is linear. A bigger one is an htree (dir_index): block 0 is a
// dx_root ("." of rec_len 12, ".." reaching the block's end, dx_root_info with half-MD4),
// then dx_entries (entry 0's hash holds dx_countlimit); leaves are linear blocks holding
// the names of one hash range, sorted by hash. A second level uses dx_node blocks: a fake
// dirent (inode 0, rec_len = block size) then dx_entries. directory.rst draws dx_node
// wrongly: this is the kernel's. dx blocks end with a dx_tail (crc32c over the used
// entries and the tail).
import { crc32c } from './crc32c.js';
import { dirHash } from './dirhash.js';
import {
  BLOCK,
  DIRENT,
  DIRENT_TAIL,
  DX_COUNTLIMIT,
  DX_ENTRY,
  DX_HASH_HALF_MD4,
  DX_NODE,
  DX_ROOT,
  DX_TAIL,
  FT,
  FT_DIR_CSUM,
} from './format.js';

const TAIL = DIRENT_TAIL.size;
const TAIL_AT = BLOCK - TAIL;
/** Where a dx block's entries start. */
const ENTRIES_AT = { root: DX_ROOT.size, node: DX_NODE.size };
/** dx_root_limit / dx_node_limit: entries that fit before the dx_tail */
const LIMIT = {
  root: (BLOCK - ENTRIES_AT.root - DX_TAIL.size) / DX_ENTRY.size,
  node: (BLOCK - ENTRIES_AT.node - DX_TAIL.size) / DX_ENTRY.size,
};
/** "." in a dx_root: its name padded to 4 */
const DOT_REC = DX_ROOT.fields.dotdot[0];

export interface DirEntry {
  name: Buffer;
  ino: number;
  /** dirent file_type (format.ts FT) */
  type: number;
}

export type DirBlockKind = 'leaf' | 'root' | 'node';

export interface DirBlock {
  kind: DirBlockKind;
  data: Buffer;
}

export interface DirBlocks {
  blocks: DirBlock[];
  indexed: boolean;
}

/** EXT4_DIR_REC_LEN: the entry and its name, rounded up to 4. */
const recLen = (nameLen: number) => (DIRENT.size + nameLen + 3) & ~3;

function putDirent(b: Buffer, at: number, e: DirEntry, rec: number): void {
  DIRENT.encode({ inode: e.ino, rec_len: rec, name_len: e.name.length, file_type: e.type }, b, at);
  e.name.copy(b, at + DIRENT.size);
}

/** Sets the rec_len of the entry at `at` (the last of its block: it reaches the tail). */
function stretch(b: Buffer, at: number): void {
  DIRENT.encode({ rec_len: TAIL_AT - at }, b, at);
}

/** Linear blocks holding entries in order (at least one block). */
function linearBlocks(entries: DirEntry[]): Buffer[] {
  const blocks: Buffer[] = [];
  let b = Buffer.alloc(BLOCK);
  let at = 0;
  let last = 0; // an empty block: one unused entry spanning it
  const close = () => {
    stretch(b, last);
    DIRENT_TAIL.encode({ det_rec_len: TAIL, det_reserved_ft: FT_DIR_CSUM }, b, TAIL_AT);
    blocks.push(b);
  };
  for (const e of entries) {
    const rec = recLen(e.name.length);
    if (at + rec > TAIL_AT) {
      close();
      b = Buffer.alloc(BLOCK);
      at = 0;
      last = 0;
    }
    putDirent(b, at, e, rec);
    last = at;
    at += rec;
  }
  close();
  return blocks;
}

/** Empty directory blocks (lost+found is made 4 blocks long, as mke2fs does). */
export function emptyDirBlocks(self: number, parent: number, count: number): DirBlock[] {
  const blocks = linearBlocks(dots(self, parent));
  while (blocks.length < count) blocks.push(...linearBlocks([]));
  return blocks.map((data) => ({ kind: 'leaf', data }));
}

const dots = (self: number, parent: number): DirEntry[] => [
  { name: Buffer.from('.'), ino: self, type: FT.dir },
  { name: Buffer.from('..'), ino: parent, type: FT.dir },
];

/** Leaves of an htree: names sorted by hash, a run of equal hashes never split between leaves. */
function hashLeaves(self: number, entries: DirEntry[], hashSeed: Uint32Array): { hash: number; entries: DirEntry[] }[] {
  const hashed = entries
    .map((e) => ({ e, h: dirHash(e.name, hashSeed) }))
    .sort((a, b) => a.h - b.h || Buffer.compare(a.e.name, b.e.name));
  const leaves: { hash: number; entries: DirEntry[] }[] = [];
  let used = BLOCK;
  for (let i = 0; i < hashed.length;) {
    let j = i;
    let size = 0;
    while (j < hashed.length && hashed[j].h === hashed[i].h) size += recLen(hashed[j++].e.name.length);
    if (size > TAIL_AT) throw new Error(`directory inode ${self}: too many names with one hash`);
    if (used + size > TAIL_AT) {
      leaves.push({ hash: hashed[i].h, entries: [] });
      used = 0;
    }
    for (let k = i; k < j; k++) leaves[leaves.length - 1].entries.push(hashed[k].e);
    used += size;
    i = j;
  }
  return leaves;
}

/** Writes a dx block's count/limit and (hash, block) entries; entry 0 has no hash. */
function putDxEntries(b: Buffer, at: number, limit: number, items: { hash: number; block: number }[]): void {
  items.forEach((it, k) => DX_ENTRY.encode(k ? it : { block: it.block }, b, at + DX_ENTRY.size * k));
  DX_COUNTLIMIT.encode({ limit, count: items.length }, b, at);
}

function dxRoot(self: number, parent: number, levels: number, items: { hash: number; block: number }[]): Buffer {
  const [dot, dotdot] = dots(self, parent);
  const root = Buffer.alloc(BLOCK);
  putDirent(root, 0, dot, DOT_REC);
  putDirent(root, DOT_REC, dotdot, BLOCK - DOT_REC);
  DX_ROOT.encode(
    { 'info.hash_version': DX_HASH_HALF_MD4, 'info.info_length': 8, 'info.indirect_levels': levels },
    root,
  );
  putDxEntries(root, ENTRIES_AT.root, LIMIT.root, items);
  return root;
}

function dxNode(items: { hash: number; block: number }[]): Buffer {
  const node = Buffer.alloc(BLOCK);
  DX_NODE.encode({ 'fake.rec_len': BLOCK }, node); // le16 holds 4096 as is for 4 KiB blocks
  putDxEntries(node, ENTRIES_AT.node, LIMIT.node, items);
  return node;
}

/** The blocks of a directory: linear when everything fits one block, else an htree. */
export function dirBlocks(self: number, parent: number, entries: DirEntry[], hashSeed: Uint32Array): DirBlocks {
  // linearBlocks fills a block up to TAIL_AT: the entries fit one exactly when their
  // records do (no linear blocks built only to be dropped for an htree)
  let size = recLen(1) + recLen(2);
  for (const e of entries) size += recLen(e.name.length);
  if (size <= TAIL_AT)
    return { blocks: [{ kind: 'leaf', data: linearBlocks([...dots(self, parent), ...entries])[0] }], indexed: false };
  const leaves = hashLeaves(self, entries, hashSeed);
  const leafBlocks: DirBlock[] = leaves.map((l) => ({ kind: 'leaf', data: linearBlocks(l.entries)[0] }));
  if (leaves.length <= LIMIT.root) {
    const root = dxRoot(
      self,
      parent,
      0,
      leaves.map((l, k) => ({ hash: l.hash, block: 1 + k })),
    );
    return { blocks: [{ kind: 'root', data: root }, ...leafBlocks], indexed: true };
  }
  const nodeCount = Math.ceil(leaves.length / LIMIT.node);
  if (nodeCount > LIMIT.root)
    throw new Error(
      `directory inode ${self}: ${entries.length} names need a 3-level htree (largedir), which this writer does not make`,
    );
  const nodes: DirBlock[] = [];
  const up: { hash: number; block: number }[] = [];
  for (let n = 0; n < nodeCount; n++) {
    const chunk = leaves.slice(n * LIMIT.node, (n + 1) * LIMIT.node);
    nodes.push({
      kind: 'node',
      data: dxNode(chunk.map((l, k) => ({ hash: l.hash, block: 1 + nodeCount + n * LIMIT.node + k }))),
    });
    up.push({ hash: chunk[0].hash, block: 1 + n });
  }
  return { blocks: [{ kind: 'root', data: dxRoot(self, parent, 1, up) }, ...nodes, ...leafBlocks], indexed: true };
}

/** Fills a directory block's checksum, given the directory inode's checksum seed. */
export function sealDirBlock(kind: DirBlockKind, b: Buffer, inodeSeed: number): void {
  if (kind === 'leaf') {
    DIRENT_TAIL.encode({ det_checksum: crc32c(inodeSeed, b, 0, TAIL_AT) }, b, TAIL_AT);
    return;
  }
  const at = ENTRIES_AT[kind];
  const { limit, count } = DX_COUNTLIMIT.decode(b, at);
  const tail = at + limit * DX_ENTRY.size;
  DX_TAIL.encode({ dt_reserved: 0, dt_checksum: 0 }, b, tail);
  let c = crc32c(inodeSeed, b, 0, at + count * DX_ENTRY.size);
  c = crc32c(c, b, tail, tail + DX_TAIL.fields.dt_checksum[0]);
  c = crc32c(c, Buffer.alloc(DX_TAIL.size - DX_TAIL.fields.dt_checksum[0]));
  DX_TAIL.encode({ dt_checksum: c }, b, tail);
}
