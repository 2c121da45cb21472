// Directory listings (squashfs-tools-ng doc/format.adoc "Directory Table", "Directory
// Index", include/sqfs/dir.h; the kernel's fs/squashfs/dir.c, namei.c; mksquashfs.c for
// where runs are cut).
//
// A listing is runs of at most 256 entries (sqfs_dir_node_t + name), each after a
// sqfs_dir_header_t naming the inode metadata block and the base inode number. A new run
// starts when the inode block changes, the number leaves ±32767 of the base, or the
// listing crosses into the next 8 KiB metadata block; then the run's header is also added
// to the directory index (sqfs_dir_index_t + first name), as mksquashfs does.
import {
  DIR_HEADER,
  DIR_INDEX,
  DIR_MAX_RUN,
  DIR_NODE,
  DIR_SIZE_DOTS,
  INODE_DIFF_MAX,
  INODE_DIFF_MIN,
  refBlock,
  refOffset,
  s16,
  SQFS_META_BLOCK_SIZE,
} from './format.js';
import type { MetaWriter } from './metadata.js';

/** One name of a directory, with its inode already written. */
export interface ListingEntry {
  name: Buffer;
  /** the inode's reference in the inode table */
  ref: number;
  number: number;
  /** the basic inode type */
  type: number;
}

export interface Listing {
  start: number;
  offset: number;
  /** listing bytes + DIR_SIZE_DOTS */
  fileSize: number;
  /** directory index records (sqfs_dir_index_t + name) */
  index: Buffer[];
}

interface Run {
  block: number;
  number: number;
  count: number;
  entries: Buffer[];
  bytes: number;
  first: Buffer;
}

/** the metadata block a stream position falls in */
const metaBlock = (at: number): number => Math.floor(at / SQFS_META_BLOCK_SIZE);

/** Whether `e` cannot join `run` (written from `runStart` in the stream). */
function startsNewRun(run: Run, e: ListingEntry, runStart: number): boolean {
  const diff = e.number - run.number;
  const end = runStart + DIR_HEADER.size + run.bytes + DIR_NODE.size + e.name.length - 1;
  return (
    run.count === DIR_MAX_RUN ||
    run.block !== refBlock(e.ref) ||
    diff > INODE_DIFF_MAX ||
    diff < INODE_DIFF_MIN ||
    metaBlock(end) !== metaBlock(runStart)
  );
}

/** Writes a directory's listing (entries in name order) to the directory table. */
export function writeListing(dirs: MetaWriter, entries: readonly ListingEntry[]): Listing {
  const start = dirs.pos();
  const base = dirs.length;
  const index: Buffer[] = [];
  let lastIndexed = metaBlock(base);
  const flush = (run: Run): void => {
    const at = dirs.length;
    if (metaBlock(at) !== lastIndexed) {
      const record = DIR_INDEX.encode({ index: at - base, start_block: dirs.pos().block, size: run.first.length - 1 });
      index.push(Buffer.concat([record, run.first]));
      lastIndexed = metaBlock(at);
    }
    const header = DIR_HEADER.encode({ count: run.count - 1, start_block: run.block, inode_number: run.number });
    dirs.append(Buffer.concat([header, ...run.entries]));
  };
  let run: Run | undefined;
  for (const e of entries) {
    if (run && startsNewRun(run, e, dirs.length)) {
      flush(run);
      run = undefined;
    }
    run ??= { block: refBlock(e.ref), number: e.number, count: 0, entries: [], bytes: 0, first: e.name };
    const node = DIR_NODE.encode({
      offset: refOffset(e.ref),
      inode_diff: s16(e.number - run.number),
      type: e.type,
      size: e.name.length - 1,
    });
    run.entries.push(node, e.name);
    run.count++;
    run.bytes += node.length + e.name.length;
  }
  if (run) flush(run);
  return { start: start.block, offset: start.offset, fileSize: dirs.length - base + DIR_SIZE_DOTS, index };
}
