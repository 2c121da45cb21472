// Where things go on the device. One device; data single, metadata DUP (two copies), as
// mkfs.btrfs picks for one device. A chunk's logical range equals the physical range of
// its first copy; a DUP chunk's second copy follows it on the device. The first MiB is
// never allocated (kernel and btrfs-progs keep it for the boot loader and the primary
// superblock at 64 KiB).
//   [1 MiB, 9 MiB)   SYSTEM chunk (DUP, 4 MiB twice): the chunk tree
//   [9 MiB, …)       DATA chunks of at most 1 GiB: file data, packed in inode order
//   then             one METADATA chunk (DUP): every other tree plus room to grow, twice
//   then             size_buffer_mb of unallocated space, where the kernel adds chunks
// A superblock mirror inside a block group takes the 64 KiB stripe it is in out of the
// group (kernel exclude_super_stripes): nothing is allocated there and the free-space
// tree does not list it. A second copy is placed where no mirror falls into it.
import { NODE, STRIPE_LEN, SUPER_OFFSETS } from './format.js';

export interface Run {
  start: number;
  length: number;
}

export const MIB = 1 << 20;
export const SYSTEM_CHUNK: Run = { start: MIB, length: 4 * MIB };
export const SYSTEM_COPY = 5 * MIB;
export const DATA_START = 9 * MIB;
/** Largest data chunk (the kernel's for single-device data: 1 GiB). */
export const DATA_CHUNK_MAX = 1 << 30;
/** BTRFS_MAX_EXTENT_SIZE: the largest data extent the kernel writes. */
export const MAX_EXTENT = 128 * MIB;

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The 64 KiB stripes holding superblock mirrors (not the primary: it is below 1 MiB). */
export const SUPER_STRIPES: Run[] = SUPER_OFFSETS.slice(1).map((o) => ({ start: o, length: STRIPE_LEN }));

/** Hands out increasing address ranges, stepping over the mirror stripes and never crossing a break. */
export class Space {
  /** `breakEvery` bytes from `breakFrom` is a boundary no run crosses (a chunk's end) */
  constructor(
    public next: number,
    private readonly breakFrom = 0,
    private readonly breakEvery = Infinity,
  ) {}

  private skipExcluded(): void {
    for (const s of SUPER_STRIPES)
      if (this.next >= s.start && this.next < s.start + s.length) this.next = s.start + s.length;
  }

  /** How far from `next` a run may go: to the next mirror stripe or break. */
  private limit(): number {
    let end = Infinity;
    for (const s of SUPER_STRIPES) if (s.start > this.next) end = Math.min(end, s.start);
    if (this.breakEvery !== Infinity)
      end = Math.min(
        end,
        this.breakFrom + (Math.floor((this.next - this.breakFrom) / this.breakEvery) + 1) * this.breakEvery,
      );
    return end;
  }

  /** `length` bytes as runs of at most `maxRun`, split where a stripe or break is in the way. */
  take(length: number, maxRun: number): Run[] {
    const out: Run[] = [];
    while (length > 0) {
      this.skipExcluded();
      const n = Math.min(length, maxRun, this.limit() - this.next);
      out.push({ start: this.next, length: n });
      this.next += n;
      length -= n;
    }
    return out;
  }

  /** One tree block, whole (never across a stripe or a break). */
  block(): number {
    for (;;) {
      this.skipExcluded();
      if (this.next + NODE <= this.limit()) break;
      this.next = this.limit();
    }
    this.next += NODE;
    return this.next - NODE;
  }
}

/** The data chunks covering [DATA_START, end): 1 MiB-aligned, at least 1 MiB, split every 1 GiB. */
export function dataChunks(end: number): Run[] {
  const stop = Math.max(alignUp(end, MIB), DATA_START + MIB);
  const out: Run[] = [];
  for (let s = DATA_START; s < stop; s += DATA_CHUNK_MAX)
    out.push({ start: s, length: Math.min(DATA_CHUNK_MAX, stop - s) });
  return out;
}

/** The parts of `chunk` that are neither in `used` (sorted, disjoint) nor in a mirror stripe. */
export function freeRanges(chunk: Run, used: Run[]): Run[] {
  const taken = [...used, ...SUPER_STRIPES]
    .filter((r) => r.start < chunk.start + chunk.length && r.start + r.length > chunk.start)
    .sort((a, b) => a.start - b.start);
  const out: Run[] = [];
  let at = chunk.start;
  for (const r of taken) {
    if (r.start > at) out.push({ start: at, length: r.start - at });
    at = Math.max(at, r.start + r.length);
  }
  const end = chunk.start + chunk.length;
  if (end > at) out.push({ start: at, length: end - at });
  return out;
}

/** Where a DUP chunk's second copy of `length` bytes goes: from `after`, past any mirror stripe it would hold. */
export function secondCopy(after: number, length: number): number {
  let at = after;
  for (const s of SUPER_STRIPES)
    if (s.start < at + length && s.start + s.length > at) at = alignUp(s.start + s.length, MIB);
  return at;
}
