// Block groups and where the metadata goes (kernel Documentation/filesystems/ext4/
// blockgroup.rst, super.rst; e2fsprogs lib/ext2fs/initialize.c, closefs.c).
// 4 KiB blocks, 32768 blocks per group, 256-byte inodes. Block 0 holds the superblock at
// byte 1024, the group descriptor table follows from block 1. With sparse_super, groups
// 1 and the powers of 3, 5 and 7 start with backup copies of both. With flex_bg the
// bitmaps and inode tables may sit anywhere: here they are packed after group 0's
// descriptors (all block bitmaps, all inode bitmaps, then every group's inode table,
// each table contiguous), then the journal, then file data — all handed out in order by
// an allocator that steps over the backup copies.

import { BLOCK, BLOCKS_PER_GROUP, DESC_SIZE, INODE_SIZE } from './format.js';

export const INODES_PER_BLOCK = BLOCK / INODE_SIZE;

export interface Run {
  start: number;
  length: number;
}

function isPowerOf(n: number, base: number): boolean {
  while (n > 1 && n % base === 0) n /= base;
  return n === 1;
}

/** sparse_super: groups 0, 1 and powers of 3, 5, 7 carry superblock + descriptor copies. */
export function hasSuperBackup(group: number): boolean {
  return group <= 1 || isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

/** The journal size mke2fs picks for a filesystem of `blocks` (ext2fs_default_journal_size), at least JBD2's 1024. */
export function journalBlocks(blocks: number): number {
  const table: [number, number][] = [
    [32768, 1024],
    [256 * 1024, 4096],
    [512 * 1024, 8192],
    [4096 * 1024, 16384],
    [8192 * 1024, 32768],
    [16384 * 1024, 65536],
    [32768 * 1024, 131072],
  ];
  for (const [limit, size] of table) if (blocks < limit) return size;
  return 262144;
}

export class Geometry {
  readonly groups: number;
  readonly gdtBlocks: number;
  readonly inodesPerGroup: number;
  readonly itableBlocks: number;
  /** backup superblock + descriptor ranges (groups ≥ 1), in block order */
  readonly reserved: Run[] = [];

  constructor(
    readonly blocks: number,
    inodes: number,
  ) {
    this.groups = Math.max(Math.ceil(blocks / BLOCKS_PER_GROUP), Math.ceil(inodes / BLOCKS_PER_GROUP));
    this.gdtBlocks = Math.ceil((this.groups * DESC_SIZE) / BLOCK);
    // a multiple of 16 fills whole inode-table blocks; one bitmap block holds 32768
    this.inodesPerGroup = Math.min(
      BLOCKS_PER_GROUP,
      Math.ceil(Math.ceil(inodes / this.groups) / INODES_PER_BLOCK) * INODES_PER_BLOCK,
    );
    this.itableBlocks = this.inodesPerGroup / INODES_PER_BLOCK;
    for (let g = 1; g < this.groups; g++)
      if (hasSuperBackup(g)) this.reserved.push({ start: g * BLOCKS_PER_GROUP, length: 1 + this.gdtBlocks });
  }

  get inodes(): number {
    return this.groups * this.inodesPerGroup;
  }

  /** Blocks in group g (the last one may be short). */
  groupBlocks(g: number): number {
    return Math.min(BLOCKS_PER_GROUP, this.blocks - g * BLOCKS_PER_GROUP);
  }
}

/** Hands out blocks in increasing order, stepping over the reserved backup ranges. */
export class Allocator {
  private r = 0;

  constructor(
    public next: number,
    private readonly reserved: Run[],
  ) {}

  /** Moves `next` past any reserved range it is in; afterwards reserved[r] starts after it. */
  private skip(): void {
    for (let res = this.reserved[this.r]; res; res = this.reserved[this.r]) {
      if (res.start > this.next) return;
      if (res.start + res.length > this.next) this.next = res.start + res.length;
      this.r++;
    }
  }

  /** n blocks in one run. */
  contiguous(n: number): number {
    for (;;) {
      this.skip();
      const res = this.reserved[this.r];
      if (!res || this.next + n <= res.start) break;
      this.next = res.start + res.length;
      this.r++;
    }
    const start = this.next;
    this.next += n;
    return start;
  }

  /** n blocks, split only where a reserved range is in the way. */
  runs(n: number): Run[] {
    const out: Run[] = [];
    this.take(n, (start, length) => out.push({ start, length }));
    return out;
  }

  /** n blocks as runs(n) hands them out; returns how many extents of at most `maxExtent` blocks they make. */
  extentCount(n: number, maxExtent: number): number {
    let count = 0;
    this.take(n, (_, length) => (count += Math.ceil(length / maxExtent)));
    return count;
  }

  /** n blocks, each run as it is handed out: `run(start, length)` (what runs(n) lists). */
  take(n: number, run: (start: number, length: number) => void): void {
    while (n > 0) {
      this.skip();
      const res = this.reserved[this.r];
      const length = res ? Math.min(n, res.start - this.next) : n;
      run(this.next, length);
      this.next += length;
      n -= length;
    }
  }
}
