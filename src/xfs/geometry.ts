// Allocation groups and where things go, as mkfs.xfs (xfsprogs 6.1, mkfs/xfs_mkfs.c)
// lays them out for a regular file:
// - AG size: calc_default_ag_geometry — one AG under 32 MiB, two under 64 MiB, else four
//   (none under 16 MiB), the maximum AG size past 4 TiB; a last AG under 16 MiB is dropped.
// - Log: under 300 MiB the minimum log for this geometry (libxfs_log_calc_minimum_size,
//   1368 blocks for these features at these AG sizes: what mkfs.xfs 6.1 writes there),
//   else 64 MiB, or 1/2048 of the filesystem past 128 GiB; internal, in AG agcount/2,
//   right after the AG's btree roots (XFS book "Internal log").
// - Every AG: block 0 holds the superblock, AGF, AGI and AGFL sectors; blocks 1-5 the
//   bno, cnt, inobt, finobt and refcount btree roots; then (log AG) the log; then the
//   AGFL's 4 blocks. Inode chunks (64 inodes, 8 blocks) start on 8-block boundaries
//   (sb_inoalignmt), the first one where libxfs_ialloc_calc_rootino expects the root.
import { AGFL_FILL, BLOCK, CHUNK_BLOCKS } from './format.js';

const MIB = (1 << 20) / BLOCK;
const AG_MIN_BLOCKS = 16 * MIB;
const AG_MAX_BLOCKS = 2 ** 40 / BLOCK - 1;
const SMALL_LOG_BLOCKS = 1368;
/** blocks 1-5: bno, cnt, ino, fino, refcount roots */
export const ROOTS = { bno: 1, cnt: 2, ino: 3, fino: 4, refc: 5 } as const;
const HEADER_BLOCKS = 6;

export interface Run {
  start: number;
  length: number;
}

function agSize(dblocks: number): number {
  if (dblocks >= (4 * 2 ** 40) / BLOCK) return AG_MAX_BLOCKS;
  let shift = 2;
  if (dblocks < 128 * MIB) shift = dblocks < 32 * MIB ? 0 : dblocks < 64 * MIB ? 1 : 2;
  const size = Math.floor(dblocks / 2 ** shift);
  return shift === 0 ? dblocks : Math.max(size, AG_MIN_BLOCKS);
}

export function logBlocks(dblocks: number): number {
  if (dblocks < 300 * MIB) return SMALL_LOG_BLOCKS;
  return Math.min(Math.max(64 * MIB, Math.floor(dblocks / 2048)), (2 ** 30 / BLOCK) * 2 - 1);
}

export class Geometry {
  readonly agblocks: number;
  readonly agcount: number;
  readonly dblocks: number;
  readonly agblklog: number;
  readonly logBlocks: number;
  readonly logAg: number;
  /** AG 0's first free block after its headers: where the root inode's chunk goes */
  readonly firstChunk: number;

  constructor(want: number) {
    this.agblocks = agSize(want);
    let agcount = Math.ceil(want / this.agblocks);
    let dblocks = want;
    if (agcount > 1 && dblocks % this.agblocks !== 0 && dblocks % this.agblocks < AG_MIN_BLOCKS) {
      agcount--;
      dblocks = agcount * this.agblocks;
    }
    this.agcount = agcount;
    this.dblocks = dblocks;
    this.agblklog = Math.ceil(Math.log2(this.agblocks));
    this.logBlocks = logBlocks(dblocks);
    this.logAg = Math.floor(agcount / 2);
    const first = HEADER_BLOCKS + AGFL_FILL + (this.logAg === 0 ? this.logBlocks : 0);
    this.firstChunk = Math.ceil(first / CHUNK_BLOCKS) * CHUNK_BLOCKS;
  }

  /** Blocks in AG a (the last may be short). */
  agLength(a: number): number {
    return Math.min(this.agblocks, this.dblocks - a * this.agblocks);
  }

  /** Blocks at the start of AG a that hold headers, roots, the log and the AGFL. */
  reservedIn(a: number): number {
    return HEADER_BLOCKS + AGFL_FILL + (a === this.logAg ? this.logBlocks : 0);
  }

  agflBlocks(a: number): number[] {
    const from = HEADER_BLOCKS + (a === this.logAg ? this.logBlocks : 0);
    return Array.from({ length: AGFL_FILL }, (_, k) => from + k);
  }

  /** The log's first AG block (in logAg). */
  get logAgbno(): number {
    return HEADER_BLOCKS;
  }

  /** filesystem block number (agno << agblklog | agbno) of a linear block */
  fsb(linear: number): bigint {
    const a = Math.floor(linear / this.agblocks);
    return (BigInt(a) << BigInt(this.agblklog)) | BigInt(linear - a * this.agblocks);
  }

  /** the inode number of the inode at `slot` of the inode block at linear block `linear` */
  ino(linear: number, slot: number): number {
    const a = Math.floor(linear / this.agblocks);
    const agbno = linear - a * this.agblocks;
    return a * 2 ** (this.agblklog + 3) + agbno * 8 + slot;
  }
}

/**
 * Hands out linear blocks (AG a's block b is a * agblocks + b) in increasing order,
 * stepping over each AG's reserved head; no run crosses into another AG.
 */
export class Allocator {
  next: number;
  /** blocks stepped over for alignment or at an AG's end: free space */
  readonly gaps: Run[] = [];

  constructor(private readonly geo: Geometry) {
    this.next = geo.firstChunk;
    this.gap(geo.reservedIn(0), geo.firstChunk);
  }

  private gap(from: number, to: number): void {
    if (to > from) this.gaps.push({ start: from, length: to - from });
  }

  private skipHead(): void {
    const { agblocks } = this.geo;
    const a = Math.floor(this.next / agblocks);
    const head = a * agblocks + this.geo.reservedIn(a);
    if (this.next < head) this.next = head;
  }

  /** n blocks in one run inside one AG, starting on a multiple of `align` within the AG. */
  contiguous(n: number, align = 1): number {
    const { agblocks } = this.geo;
    for (;;) {
      this.skipHead();
      const a = Math.floor(this.next / agblocks);
      const agbno = Math.ceil((this.next - a * agblocks) / align) * align;
      if (agbno + n <= agblocks) {
        this.gap(this.next, a * agblocks + agbno);
        this.next = a * agblocks + agbno + n;
        return a * agblocks + agbno;
      }
      this.gap(this.next, (a + 1) * agblocks);
      this.next = (a + 1) * agblocks;
    }
  }

  /** Moves on to the next AG, leaving the rest of this one free. */
  nextAg(): void {
    const end = (Math.floor(this.next / this.geo.agblocks) + 1) * this.geo.agblocks;
    this.gap(this.next, end);
    this.next = end;
  }

  /** Blocks left in the current AG. */
  leftInAg(): number {
    this.skipHead();
    return (Math.floor(this.next / this.geo.agblocks) + 1) * this.geo.agblocks - this.next;
  }

  /** n blocks, split where an AG ends. */
  runs(n: number): Run[] {
    const out: Run[] = [];
    const { agblocks } = this.geo;
    while (n > 0) {
      this.skipHead();
      const end = (Math.floor(this.next / agblocks) + 1) * agblocks;
      const length = Math.min(n, end - this.next);
      out.push({ start: this.next, length });
      this.next += length;
      n -= length;
    }
    return out;
  }
}
