// Directory blocks (kernel Documentation/filesystems/ext4/directory.rst, fs/ext4/namei.c).
// A dirent: le32 inode, le16 rec_len (multiple of 4; the last one of a block reaches the
// block's end), u8 name_len, u8 file_type, name. With metadata_csum every block ends
// with a 12-byte fake dirent (inode 0, rec_len 12, name_len 0, type 0xDE, le32 crc32c of
// the block before it, seeded by the inode).
// A directory of one block is linear. A bigger one is an htree (dir_index): block 0 holds
// "." (rec_len 12) and ".." (rec_len = block − 12) followed by dx_root_info (le32 0, u8
// hash_version 1 = half-MD4, u8 info_length 8, u8 indirect_levels, u8 flags), then
// le16 limit, le16 count, le32 block of the first leaf, then (le32 hash, le32 block)
// pairs; leaves are linear blocks holding the names of one hash range, sorted by hash.
// A second level uses dx_node blocks: a fake dirent (inode 0, rec_len = block size) then
// limit/count/block and pairs. directory.rst draws dx_node wrongly: this is the kernel's.
// dx blocks end with dx_tail (le32 0, le32 crc32c over the used pairs and the tail).
import { crc32c } from './crc32c.js';
import { dirHash } from './dirhash.js';

export const BLOCK = 4096;
const TAIL = 12;
const ROOT_COUNT_AT = 32;
const NODE_COUNT_AT = 8;
const ROOT_LIMIT = (BLOCK - ROOT_COUNT_AT) / 8 - 1;
const NODE_LIMIT = (BLOCK - NODE_COUNT_AT) / 8 - 1;

export interface DirEntry {
  name: Buffer;
  ino: number;
  /** dirent file_type: 1 file, 2 dir, 3 char, 4 block, 5 fifo, 6 socket, 7 symlink */
  type: number;
}

export type DirBlockKind = 'leaf' | 'root' | 'node';

export interface DirBlocks {
  blocks: { kind: DirBlockKind; data: Buffer }[];
  indexed: boolean;
}

const recLen = (nameLen: number) => (8 + nameLen + 3) & ~3;

function putDirent(b: Buffer, at: number, e: DirEntry, rec: number): void {
  b.writeUInt32LE(e.ino, at);
  b.writeUInt16LE(rec, at + 4);
  b[at + 6] = e.name.length;
  b[at + 7] = e.type;
  e.name.copy(b, at + 8);
}

/** Linear blocks holding entries in order; `empty` blocks of one unused dirent after them. */
function linearBlocks(entries: DirEntry[]): Buffer[] {
  const blocks: Buffer[] = [];
  let b = Buffer.alloc(BLOCK);
  let at = 0;
  let last = -1;
  const close = () => {
    if (last >= 0) b.writeUInt16LE(BLOCK - TAIL - last, last + 4);
    else b.writeUInt16LE(BLOCK - TAIL, 4); // an empty block: one unused entry spanning it
    sealTailDirent(b);
    blocks.push(b);
  };
  for (const e of entries) {
    const rec = recLen(e.name.length);
    if (at + rec > BLOCK - TAIL) {
      close();
      b = Buffer.alloc(BLOCK);
      at = 0;
      last = -1;
    }
    putDirent(b, at, e, rec);
    last = at;
    at += rec;
  }
  close();
  return blocks;
}

function sealTailDirent(b: Buffer): void {
  b.writeUInt32LE(0, BLOCK - TAIL);
  b.writeUInt16LE(TAIL, BLOCK - TAIL + 4);
  b[BLOCK - TAIL + 6] = 0;
  b[BLOCK - TAIL + 7] = 0xde;
}

/** Empty directory blocks (lost+found is made 4 blocks long, as mke2fs does). */
export function emptyDirBlocks(self: number, parent: number, count: number): Buffer[] {
  const blocks = linearBlocks(dots(self, parent));
  while (blocks.length < count) blocks.push(...linearBlocks([]));
  return blocks;
}

const dots = (self: number, parent: number): DirEntry[] => [
  { name: Buffer.from('.'), ino: self, type: 2 },
  { name: Buffer.from('..'), ino: parent, type: 2 },
];

/** The blocks of a directory: linear when everything fits one block, else an htree. */
export function dirBlocks(self: number, parent: number, entries: DirEntry[], hashSeed: Uint32Array): DirBlocks {
  const linear = linearBlocks([...dots(self, parent), ...entries]);
  if (linear.length === 1) return { blocks: [{ kind: 'leaf', data: linear[0] }], indexed: false };

  // leaves: names sorted by hash, a run of equal hashes never split between leaves
  const hashed = entries.map((e) => ({ e, h: dirHash(e.name, hashSeed) })).sort((a, b) => a.h - b.h || Buffer.compare(a.e.name, b.e.name));
  const leaves: { hash: number; entries: DirEntry[] }[] = [];
  let used = BLOCK;
  for (let i = 0; i < hashed.length; ) {
    let j = i;
    let size = 0;
    while (j < hashed.length && hashed[j].h === hashed[i].h) size += recLen(hashed[j++].e.name.length);
    if (size > BLOCK - TAIL) throw new Error(`directory inode ${self}: too many names with one hash`);
    if (used + size > BLOCK - TAIL) {
      leaves.push({ hash: hashed[i].h, entries: [] });
      used = 0;
    }
    for (let k = i; k < j; k++) leaves[leaves.length - 1].entries.push(hashed[k].e);
    used += size;
    i = j;
  }

  const root = Buffer.alloc(BLOCK);
  putDirent(root, 0, dots(self, parent)[0], 12);
  putDirent(root, 12, dots(self, parent)[1], BLOCK - 12);
  root.writeUInt32LE(0, 24);
  root[28] = 1; // half-MD4 (unsigned per s_flags)
  root[29] = 8;
  root[31] = 0;
  const out: DirBlocks = { blocks: [{ kind: 'root', data: root }], indexed: true };

  const fill = (b: Buffer, countAt: number, limit: number, items: { hash: number; block: number }[]) => {
    b.writeUInt16LE(limit, countAt);
    b.writeUInt16LE(items.length, countAt + 2);
    b.writeUInt32LE(items[0].block, countAt + 4);
    for (let k = 1; k < items.length; k++) {
      b.writeUInt32LE(items[k].hash, countAt + 8 * k);
      b.writeUInt32LE(items[k].block, countAt + 8 * k + 4);
    }
  };

  if (leaves.length <= ROOT_LIMIT) {
    root[30] = 0;
    fill(root, ROOT_COUNT_AT, ROOT_LIMIT, leaves.map((l, k) => ({ hash: l.hash, block: 1 + k })));
  } else {
    const nodeCount = Math.ceil(leaves.length / NODE_LIMIT);
    if (nodeCount > ROOT_LIMIT) throw new Error(`directory inode ${self}: ${entries.length} names need a 3-level htree (largedir), which this writer does not make`);
    root[30] = 1;
    const nodes: { hash: number; block: number }[] = [];
    for (let n = 0; n < nodeCount; n++) {
      const chunk = leaves.slice(n * NODE_LIMIT, (n + 1) * NODE_LIMIT);
      const node = Buffer.alloc(BLOCK);
      node.writeUInt32LE(0, 0);
      node.writeUInt16LE(BLOCK, 4); // le16 holds 4096 as is for 4 KiB blocks
      fill(node, NODE_COUNT_AT, NODE_LIMIT, chunk.map((l, k) => ({ hash: l.hash, block: 1 + nodeCount + n * NODE_LIMIT + k })));
      out.blocks.push({ kind: 'node', data: node });
      nodes.push({ hash: chunk[0].hash, block: 1 + n });
    }
    fill(root, ROOT_COUNT_AT, ROOT_LIMIT, nodes);
  }
  for (const l of leaves) out.blocks.push({ kind: 'leaf', data: linearBlocks(l.entries)[0] });
  return out;
}


/** Fills a directory block's checksum, given the directory inode's checksum seed. */
export function sealDirBlock(kind: DirBlockKind, b: Buffer, inodeSeed: number): void {
  if (kind === 'leaf') {
    b.writeUInt32LE(crc32c(inodeSeed, b, 0, BLOCK - TAIL), BLOCK - 4);
    return;
  }
  const countAt = kind === 'root' ? ROOT_COUNT_AT : NODE_COUNT_AT;
  const limit = b.readUInt16LE(countAt);
  const count = b.readUInt16LE(countAt + 2);
  const tail = countAt + limit * 8;
  b.writeUInt32LE(0, tail);
  let c = crc32c(inodeSeed, b, 0, countAt + count * 8);
  c = crc32c(c, b, tail, tail + 4);
  c = crc32c(c, Buffer.alloc(4));
  b.writeUInt32LE(c, tail + 4);
}
