// A fork's block map (xfs_format.h xfs_bmbt_rec, xfs_bmdr_block; XFS book "Data Extents",
// "B+tree Extent List"): extents packed in 128 bits — flag (1), file offset (54), fs block
// (52), length (21) — in the inode while they fit, else a bmbt whose root sits in the
// inode (level, numrecs, keys, then pointers from (fork size - 4) / 16 key slots on) and
// whose blocks are long-form btree blocks owned by the inode.
import { type BtreeShape, buildBtree, levelCounts } from './btree.js';
import { BMDR, MAGIC } from './format.js';

/** xfs_format.h XFS_MAX_BMBT_EXTLEN: 21 bits of length */
export const MAX_EXTLEN = 2 ** 21 - 1;
const REC = 16;

export interface Extent {
  /** file block */
  logical: number;
  /** linear block of the image */
  physical: number;
  length: number;
}

const BMBT: BtreeShape = {
  magic: MAGIC.bmap,
  recSize: REC,
  keySize: 8,
  ptrSize: 8,
  key: (rec) => {
    const k = Buffer.alloc(8);
    k.writeBigUInt64BE((rec.readBigUInt64BE(0) >> 9n) & ((1n << 54n) - 1n));
    return k;
  },
};

function encodeExtent(logical: number, fsb: bigint, length: number): Buffer {
  const b = Buffer.alloc(REC);
  b.writeBigUInt64BE((BigInt(logical) << 9n) | (fsb >> 43n), 0);
  b.writeBigUInt64BE(((fsb & ((1n << 43n) - 1n)) << 21n) | BigInt(length), 8);
  return b;
}

const rootMax = (room: number) => Math.floor((room - BMDR.size) / REC);

/** bmbt blocks a fork of `n` extents needs in `room` bytes (0: the extents fit in the inode). */
export function bmbtBlocks(n: number, room: number): number {
  if (n * REC <= room) return 0;
  return levelCounts(BMBT, n, rootMax(room)).reduce((a, b) => a + b, 0);
}

export interface Fork {
  format: 'extents' | 'btree';
  bytes: Buffer;
  /** bmbt blocks to write, at linear blocks */
  blocks: { at: number; data: Buffer }[];
}

/** The fork for `extents` in `room` bytes; btree blocks go to `places` (linear blocks). */
export function buildFork(extents: Extent[], room: number, places: number[], fsb: (linear: number) => bigint): Fork {
  const recs = extents.map((e) => encodeExtent(e.logical, fsb(e.physical), e.length));
  if (!places.length) return { format: 'extents', bytes: Buffer.concat(recs), blocks: [] };
  const { blocks, top } = buildBtree(BMBT, recs, places, fsb, rootMax(room));
  const bytes = Buffer.alloc(room);
  const levels = levelCounts(BMBT, recs.length, rootMax(room)).length;
  BMDR.encode({ level: levels, numrecs: top.keys.length }, bytes);
  top.keys.forEach((k, i) => k.copy(bytes, BMDR.size + 8 * i));
  top.ptrs.forEach((p, i) => bytes.writeBigUInt64BE(p, BMDR.size + rootMax(room) * 8 + 8 * i));
  return { format: 'btree', bytes, blocks };
}
