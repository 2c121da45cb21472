// A btrfs B-tree from its items, sorted by key (btrfs.readthedocs.io "On-disk format":
// tree blocks; fs/btrfs/ctree.h). Leaves are filled in key order (item headers from the
// front, item data from the back), then node levels of key pointers above them until
// one block is the root. The shape depends on item sizes only, so a tree is packed first
// and given block addresses later: leaves left to right, then each node level, root last.
import { csum } from './checksum.js';
import { header, HEADER_FLAG_WRITTEN, item as itemHeader, keyPtr, MIXED_BACKREF_REV, NODE } from './format.js';

export interface Key {
  objectid: bigint;
  type: number;
  offset: bigint;
}

export interface Item extends Key {
  data: Buffer;
}

const HEADER = header.size;
/** BTRFS_LEAF_DATA_SIZE: a leaf's room for item headers and data. */
export const LEAF_DATA = NODE - HEADER;
const PTRS_PER_NODE = Math.floor(LEAF_DATA / keyPtr.size);

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type - b.type;
  return a.offset === b.offset ? 0 : a.offset < b.offset ? -1 : 1;
}

export interface Packed {
  owner: bigint;
  items: Item[];
  /** index of each leaf's first item */
  leaves: number[];
  /** per level above the leaves: index (in the level below) of each node's first child */
  nodes: number[][];
}

/** Groups sorted items into leaves and leaves into nodes; throws on unsorted keys. */
export function pack(owner: bigint, items: Item[]): Packed {
  const leaves: number[] = [0];
  let room = LEAF_DATA;
  items.forEach((it, k) => {
    if (k > 0 && compareKeys(items[k - 1], it) >= 0)
      throw new Error(`btrfs: tree ${owner}: item keys out of order at ${k}`);
    const need = itemHeader.size + it.data.length;
    if (need > LEAF_DATA)
      throw new Error(`btrfs: tree ${owner}: an item of ${it.data.length} bytes does not fit in a leaf`);
    if (need > room) {
      leaves.push(k);
      room = LEAF_DATA;
    }
    room -= need;
  });
  const nodes: number[][] = [];
  for (let below = leaves.length; below > 1; below = nodes[nodes.length - 1].length) {
    nodes.push(Array.from({ length: Math.ceil(below / PTRS_PER_NODE) }, (_, i) => i * PTRS_PER_NODE));
  }
  return { owner, items, leaves, nodes };
}

export function blockCount(p: Packed): number {
  return p.leaves.length + p.nodes.reduce((n, level) => n + level.length, 0);
}

export function rootLevel(p: Packed): number {
  return p.nodes.length;
}

export interface BlockContext {
  fsid: Buffer;
  chunkTreeUuid: Buffer;
  generation: number;
}

function newBlock(ctx: BlockContext, owner: bigint, bytenr: number, nritems: number, level: number): Buffer {
  const b = Buffer.alloc(NODE);
  header.encode(
    {
      fsid: ctx.fsid,
      bytenr,
      flags: HEADER_FLAG_WRITTEN | MIXED_BACKREF_REV,
      chunkTreeUuid: ctx.chunkTreeUuid,
      generation: ctx.generation,
      owner,
      nritems,
      level,
    },
    b,
  );
  return b;
}

function seal(b: Buffer): Buffer {
  b.writeUInt32LE(csum(b, 32), 0);
  return b;
}

function encodeLeaf(ctx: BlockContext, owner: bigint, bytenr: number, items: Item[]): Buffer {
  const b = newBlock(ctx, owner, bytenr, items.length, 0);
  let end = LEAF_DATA;
  items.forEach((it, k) => {
    end -= it.data.length;
    itemHeader.encode(
      { objectid: it.objectid, type: it.type, offset: it.offset, dataOffset: end, dataSize: it.data.length },
      b,
      HEADER + k * itemHeader.size,
    );
    it.data.copy(b, HEADER + end);
  });
  return seal(b);
}

function encodeNode(
  ctx: BlockContext,
  owner: bigint,
  bytenr: number,
  level: number,
  children: { key: Key; bytenr: number }[],
): Buffer {
  const b = newBlock(ctx, owner, bytenr, children.length, level);
  children.forEach((c, k) =>
    keyPtr.encode(
      {
        objectid: c.key.objectid,
        type: c.key.type,
        offset: c.key.offset,
        blockptr: c.bytenr,
        generation: ctx.generation,
      },
      b,
      HEADER + k * keyPtr.size,
    ),
  );
  return seal(b);
}

/** Encodes every block at `addrs` (leaves, then node levels, root last) and hands each to `write`. */
export function encodeTree(
  p: Packed,
  addrs: number[],
  ctx: BlockContext,
  write: (bytenr: number, block: Buffer) => void,
): void {
  let at = 0;
  let below = p.leaves.map((start, k) => {
    const end = p.leaves[k + 1] ?? p.items.length;
    const bytenr = addrs[at++];
    write(bytenr, encodeLeaf(ctx, p.owner, bytenr, p.items.slice(start, end)));
    const first = p.items[start] ?? { objectid: 0n, type: 0, offset: 0n };
    return { key: first as Key, bytenr };
  });
  p.nodes.forEach((level, l) => {
    below = level.map((start, k) => {
      const children = below.slice(start, level[k + 1] ?? below.length);
      const bytenr = addrs[at++];
      write(bytenr, encodeNode(ctx, p.owner, bytenr, l + 1, children));
      return { key: children[0].key, bytenr };
    });
  });
}
