// SquashFS 4.0 writer: the tree → a read-only image the kernel mounts, without
// mksquashfs. Sources: squashfs-tools-ng doc/format.adoc, squashfs-tools
// squashfs_fs.h and mksquashfs.c, the kernel's fs/squashfs/super.c.
//
// Layout, in this order (the kernel finds where each table ends from the start of the
// next one and checks the order, super.c):
//   superblock (96 bytes) | compressor options | data and fragment blocks |
//   inode table | directory table | fragment table | export table | id table |
//   xattr tables
// bytes_used is the end of the last table; the file is zero-padded to a 4 KiB multiple
// (mksquashfs pads for block devices). Absent optional tables are 0xFFFFFFFFFFFFFFFF;
// a filesystem without fragments still gets a fragment table position (an empty table
// at the next table's start), as mksquashfs writes it.
import { availableParallelism } from 'node:os';
import type { ImageSink } from '../artifact.js';
import { type FileNode, type Node, sortedKeys, type Time, type Tree } from '../tree/tree.js';
import {
  checkCodec,
  type Codec,
  type CompressorName,
  compressorOptions,
  COMPRESSORS,
  loadCompressor,
  type BlockCompressor,
} from './codec.js';
import { checkLimits } from '../tree/limits.js';
import { type DataResult, type FileData, writeData } from './data.js';
import {
  encodeArray,
  encodeRecords,
  EXPORT_ENTRY,
  FRAGMENT,
  META_HEADER,
  META_UNCOMPRESSED,
  NO_TABLE,
  SQFS_MAGIC,
  SQFS_VERSION_MAJOR,
  SQFS_VERSION_MINOR,
  SUPER,
  SUPER_FLAGS,
} from './format.js';
import { clampTime } from './inodes.js';
import { BLOCK_SIZE_MAX, BLOCK_SIZE_MIN, DEFAULT_BLOCK_SIZE, DEFAULT_COMPRESSOR, SQUASHFS_LIMITS } from './limits.js';
import { lookupTable } from './metadata.js';
import type { CompressedCache } from '../compressed-cache.js';
import {
  blocksPerMessage,
  cachingCompressor,
  type CompressPoolOptions,
  startCompressPool,
  startCompressWorkersAhead,
} from './pool.js';
import { type Tables, TableWriter } from './tables.js';

export interface SquashfsOptions {
  /** zstd (default), gzip or lz4 */
  compressor?: CompressorName;
  /** zstd 1–22 (default 15), gzip 1–9 (default 9), lz4 1 (no levels) */
  level: number;
  /** the filesystem's creation time (SOURCE_DATE_EPOCH, else 0) */
  epoch: Time;
  /** data block size: a power of two, 4096 to 1048576 (default 131072) */
  blockSize?: number;
  /** compression threads (default os.availableParallelism()); 0 = on this thread */
  workers?: number;
  /**
   * keeps compressed data, fragment and metadata blocks by content (src/compressed-cache.ts):
   * a warm rebuild compresses only what changed
   */
  cache?: CompressedCache;
}

/** the image is padded to a multiple of this (mksquashfs pads for block devices) */
const DEVICE_BLOCK = 4096;

export function checkBlockSize(size: number): void {
  if (!Number.isInteger(size) || size < BLOCK_SIZE_MIN || size > BLOCK_SIZE_MAX || (size & (size - 1)) !== 0)
    throw new Error(`squashfs: block size ${size}: use a power of two from ${BLOCK_SIZE_MIN} to ${BLOCK_SIZE_MAX}`);
}

/** Positions of the tables the superblock points at. */
interface Placed {
  inodeTable: number;
  dirTable: number;
  fragTable: number;
  exportTable: number;
  idTable: number;
  xattrTable: bigint;
  end: number;
}

const codecOf = (o: Pick<SquashfsOptions, 'compressor' | 'level'>): Codec => ({
  name: o.compressor ?? DEFAULT_COMPRESSOR,
  level: o.level,
});

/** Starts the compression workers of a later writeSquashfs with these options (while the tree is made). */
export function startSquashfsWorkers(o: Pick<SquashfsOptions, 'compressor' | 'level' | 'workers'>): void {
  startCompressWorkersAhead(codecOf(o), o.workers ?? availableParallelism());
}

/** Writes the image; says how many inodes had xattrs squashfs cannot hold (left out). */
export async function writeSquashfs(
  tree: Tree,
  out: ImageSink,
  o: SquashfsOptions,
): Promise<{ droppedXattrs: number }> {
  checkLimits(tree, SQUASHFS_LIMITS);
  const blockSize = o.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  const codec = codecOf(o);
  checkCodec(codec);
  const workers = o.workers ?? availableParallelism();
  const compress = cachingCompressor(await loadCompressor(codec), codec, blockSize, o.cache);

  const options = writeCompressorOptions(codec, out);
  const { data, t } = await writeFileData(tree, out, SUPER.size + options, codec, compress, {
    workers,
    blockSize,
    cache: o.cache,
  });
  const placed = writeTablesAt(t, data, out, compress);
  const flags =
    SUPER_FLAGS.ALWAYS_FRAGMENTS |
    SUPER_FLAGS.DUPLICATES |
    SUPER_FLAGS.EXPORTABLE |
    (options ? SUPER_FLAGS.COMPRESSOR_OPTIONS : 0);
  const sb = SUPER.encode({
    magic: SQFS_MAGIC,
    inode_count: t.inodeCount,
    modification_time: clampTime(o.epoch.sec),
    block_size: blockSize,
    fragment_entry_count: data.fragments.length,
    compression_id: COMPRESSORS[codec.name].id,
    block_log: Math.log2(blockSize),
    flags,
    id_count: t.ids.count,
    version_major: SQFS_VERSION_MAJOR,
    version_minor: SQFS_VERSION_MINOR,
    root_inode_ref: t.rootRef,
    bytes_used: placed.end,
    id_table_start: placed.idTable,
    xattr_id_table_start: placed.xattrTable,
    inode_table_start: placed.inodeTable,
    directory_table_start: placed.dirTable,
    fragment_table_start: placed.fragTable,
    export_table_start: placed.exportTable,
  });
  out.writeAt(sb, 0);
  out.setSize(Math.ceil(placed.end / DEVICE_BLOCK) * DEVICE_BLOCK);
  return { droppedXattrs: t.xattrs.dropped };
}

/**
 * Compressor options: a raw metadata block right after the superblock, written only for
 * a non-default level (both C tools) and always for lz4. Returns its size (0 = none).
 */
function writeCompressorOptions(codec: Codec, out: ImageSink): number {
  const options = compressorOptions(codec);
  if (!options) return 0;
  const block = Buffer.concat([META_HEADER.encode({ size: META_UNCOMPRESSED | options.length }), options]);
  out.writeAt(block, SUPER.size);
  return block.length;
}

/**
 * Data: every regular file once (hard links are one node), in walk order, from `start`;
 * and the inode and directory tables, written while this thread waits for compressed
 * blocks as soon as the data of a directory's files is written (TableWriter.step).
 */
async function writeFileData(
  tree: Tree,
  out: ImageSink,
  start: number,
  codec: Codec,
  compress: BlockCompressor,
  o: CompressPoolOptions,
): Promise<{ data: DataResult; t: Tables }> {
  const { files, index } = dataOrder(tree);
  const infos = new Map<Node, FileData>();
  let tables: TableWriter | undefined; // made at the first wait, not before the first blocks leave
  const pool = await startCompressPool(codec, o);
  try {
    const data = await writeData(files, out, start, o.blockSize, pool, {
      // in flight: 4 messages per worker (lz4: 64 blocks each, 8 MiB), so that the tables
      // written while this thread waits do not leave the workers idle
      inFlight: Math.max(4, o.workers * 4) * blocksPerMessage(codec),
      // without a cache the workers read the file data (a cache's keys need the bytes here)
      workersRead: !o.cache,
      infos,
      idle: (written) => (tables ??= new TableWriter(tree, infos, compress, index)).step(written),
    });
    return { data, t: (tables ?? new TableWriter(tree, infos, compress, index)).finish() };
  } finally {
    pool.close();
  }
}

/**
 * Every regular file once (a hard link's node where it is first met), in Tree.walk's
 * order (pre-order, names in byte order), without making the paths walk yields; and
 * each file's place in that order.
 */
function dataOrder(tree: Tree): { files: FileNode[]; index: Map<Node, number> } {
  const files: FileNode[] = [];
  const index = new Map<Node, number>();
  const stack = [{ dir: tree.root, keys: sortedKeys(tree.root), next: 0 }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    if (top.next === top.keys.length) {
      stack.pop();
      continue;
    }
    const node = top.dir.entries.get(top.keys[top.next++]!);
    if (node?.type === 'dir') stack.push({ dir: node, keys: sortedKeys(node), next: 0 });
    else if (node?.type === 'file' && !index.has(node)) index.set(node, files.push(node) - 1);
  }
  return { files, index };
}

/** The tables after the data, in the order the kernel checks (see the top of this file). */
function writeTablesAt(t: Tables, data: DataResult, out: ImageSink, compress: BlockCompressor): Placed {
  let pos = data.end;
  const put = (bytes: Buffer): number => {
    const at = pos;
    out.writeAt(bytes, at);
    pos += bytes.length;
    return at;
  };
  const table = (entries: Buffer): number => {
    const { bytes, listAt } = lookupTable(entries, pos, compress);
    put(bytes);
    return listAt;
  };
  const inodeTable = put(t.inodes);
  const dirTable = put(t.directories);
  const fragTable = table(
    encodeRecords(
      FRAGMENT,
      data.fragments.map((f) => ({ start_offset: f.start, size: f.size, pad0: 0 })),
    ),
  );
  const exportTable = table(encodeArray(EXPORT_ENTRY, 'inode_ref', t.refs));
  const idTable = table(t.ids.entries());
  const xattrs = t.xattrs.finish(pos, compress);
  if (xattrs) put(xattrs.bytes);
  return {
    inodeTable,
    dirTable,
    fragTable,
    exportTable,
    idTable,
    xattrTable: xattrs ? BigInt(xattrs.tableAt) : NO_TABLE,
    end: pos,
  };
}
