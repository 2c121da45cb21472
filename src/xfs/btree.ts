// B+trees built bottom-up from sorted records (xfs_format.h struct xfs_btree_block; XFS
// book "B+trees"): leaves hold records, interior nodes hold the first key of each child
// followed, from maxrecs keys on, by the children's pointers. Records are spread evenly so
// every block but the root is at least half full (xfs_repair checks minrecs). Short form
// (AG btrees: be32 AG block pointers, the AG as owner) and long form (bmbt: be64 fs block
// pointers, the inode as owner).
import { evenSplit } from './dir.js';
import { BLOCK, LBTREE, NULLAGBLOCK, NULLFSBLOCK, SBTREE } from './format.js';

export interface BtreeShape {
  magic: number;
  recSize: number;
  keySize: number;
  /** pointer size: 4 (short form) or 8 (long form) */
  ptrSize: 4 | 8;
  /** the key of a record; default: its first keySize bytes */
  key?: (rec: Buffer) => Buffer;
}

export interface BtreeBlock {
  /** where it goes: an AG block number (short) or a linear block (long) */
  at: number;
  data: Buffer;
}

const hdrSize = (s: BtreeShape) => (s.ptrSize === 4 ? SBTREE.size : LBTREE.size);
export const leafMax = (s: BtreeShape, bytes = BLOCK - hdrSize(s)) => Math.floor(bytes / s.recSize);
const nodeMax = (s: BtreeShape, bytes = BLOCK - hdrSize(s)) => Math.floor(bytes / (s.keySize + s.ptrSize));

/** Blocks per level, leaves first, for n records under a root holding `rootMax` entries. */
export function levelCounts(s: BtreeShape, n: number, rootMax = Infinity): number[] {
  const counts = [Math.max(1, Math.ceil(n / leafMax(s)))];
  const limit = rootMax === Infinity ? 1 : rootMax;
  while (counts[counts.length - 1] > limit) counts.push(Math.ceil(counts[counts.length - 1] / nodeMax(s)));
  return counts;
}

function header(s: BtreeShape, level: number, numrecs: number, left: bigint, right: bigint): Buffer {
  const b = Buffer.alloc(BLOCK);
  if (s.ptrSize === 4)
    SBTREE.encode({ magic: s.magic, level, numrecs, leftsib: Number(left), rightsib: Number(right) }, b);
  else LBTREE.encode({ magic: s.magic, level, numrecs, leftsib: left, rightsib: right }, b);
  return b;
}

/** Node body: keys from `keyAt`, pointers after `max` key slots. */
function putNode(b: Buffer, keyAt: number, max: number, s: BtreeShape, keys: Buffer[], ptrs: bigint[]): void {
  keys.forEach((k, i) => k.copy(b, keyAt + i * s.keySize, 0, s.keySize));
  const ptrAt = keyAt + max * s.keySize;
  ptrs.forEach((p, i) =>
    s.ptrSize === 4 ? b.writeUInt32BE(Number(p), ptrAt + 4 * i) : b.writeBigUInt64BE(p, ptrAt + 8 * i),
  );
}

/**
 * Builds the tree's blocks at the given places (leaves first, level by level, the top
 * level last). `ptr` turns a place into the pointer stored in the parent.
 * Returns the blocks and, for an in-inode root, the top level's keys and pointers.
 */
export function buildBtree(
  s: BtreeShape,
  recs: Buffer[],
  places: number[],
  ptr: (at: number) => bigint,
  rootMax = Infinity,
): { blocks: BtreeBlock[]; top: { keys: Buffer[]; ptrs: bigint[] } } {
  const counts = levelCounts(s, recs.length, rootMax);
  const none = s.ptrSize === 4 ? BigInt(NULLAGBLOCK) : NULLFSBLOCK;
  const blocks: BtreeBlock[] = [];
  let items = recs;
  let childPtrs: bigint[] = [];
  let next = 0;
  counts.forEach((count, level) => {
    const here = places.slice(next, next + count);
    next += count;
    const ptrs = here.map(ptr);
    const keys: Buffer[] = [];
    let from = 0;
    evenSplit(items.length, count).forEach((n, k) => {
      const b = header(s, level, n, k ? ptrs[k - 1] : none, k + 1 < count ? ptrs[k + 1] : none);
      const part = items.slice(from, from + n);
      if (level === 0) part.forEach((r, i) => r.copy(b, hdrSize(s) + i * s.recSize));
      else putNode(b, hdrSize(s), nodeMax(s), s, part, childPtrs.slice(from, from + n));
      const key = level === 0 && s.key ? s.key : (r: Buffer) => r.subarray(0, s.keySize);
      keys.push(part.length ? key(part[0]) : Buffer.alloc(s.keySize));
      from += n;
      blocks.push({ at: here[k], data: b });
    });
    childPtrs = ptrs;
    items = keys;
  });
  return { blocks, top: { keys: items, ptrs: childPtrs } };
}
