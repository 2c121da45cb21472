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
import type { FileNode, Node, Time, Tree } from '../tree/tree.js';
import { checkCodec, type Codec, type CompressorName, compressorOptions, COMPRESSORS, loadCompressor } from './codec.js';
import { checkLimits } from '../tree/limits.js';
import { writeData } from './data.js';
import { clampTime, writeTables } from './inodes.js';
import { SQUASHFS_LIMITS } from './limits.js';
import { lookupTable, MetaWriter } from './metadata.js';
import { CompressPool } from './pool.js';

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
}

export const DEFAULT_BLOCK_SIZE = 131072;
const SUPERBLOCK_SIZE = 96;
const MAGIC = 0x73717368;
const NONE = 2n ** 64n - 1n;

// superblock flags (format.adoc, "The Superblock"): informational except COMPRESSOR_OPTIONS
const ALWAYS_FRAGMENTS = 0x0020;
const DUPLICATES = 0x0040;
const EXPORTABLE = 0x0080;
const COMPRESSOR_OPTIONS = 0x0400;

export function checkBlockSize(size: number): void {
  if (!Number.isInteger(size) || size < 4096 || size > 1048576 || (size & (size - 1)) !== 0)
    throw new Error(`squashfs: block size ${size}: use a power of two from 4096 to 1048576`);
}

/** Writes the image; says how many inodes had xattrs squashfs cannot hold (left out). */
export async function writeSquashfs(tree: Tree, out: ImageSink, o: SquashfsOptions): Promise<{ droppedXattrs: number }> {
  checkLimits(tree, SQUASHFS_LIMITS);
  const blockSize = o.blockSize ?? DEFAULT_BLOCK_SIZE;
  checkBlockSize(blockSize);
  const codec: Codec = { name: o.compressor ?? 'zstd', level: o.level };
  checkCodec(codec);
  const workers = o.workers ?? availableParallelism();
  const compress = await loadCompressor(codec);

  // compressor options: a raw metadata block right after the superblock, written only
  // for a non-default level (both C tools)
  let pos = SUPERBLOCK_SIZE;
  let flags = ALWAYS_FRAGMENTS | DUPLICATES | EXPORTABLE;
  const options = compressorOptions(codec);
  if (options) {
    const block = Buffer.alloc(2 + options.length);
    block.writeUInt16LE(0x8000 | options.length, 0);
    options.copy(block, 2);
    out.writeAt(block, pos);
    pos += block.length;
    flags |= COMPRESSOR_OPTIONS;
  }

  // data: every regular file once (hard links are one node), in walk order
  const files: FileNode[] = [];
  const seen = new Set<Node>();
  for (const { node } of tree.walk()) {
    if (node.type === 'file' && !seen.has(node)) {
      seen.add(node);
      files.push(node);
    }
  }
  const pool = await CompressPool.start(codec, workers);
  let data;
  try {
    data = await writeData(files, out, pos, blockSize, pool, Math.max(4, workers * 4));
  } finally {
    await pool.close();
  }
  pos = data.end;

  const t = writeTables(tree, data.files, compress);
  const inodeTable = pos;
  out.writeAt(t.inodes, pos);
  pos += t.inodes.length;
  const dirTable = pos;
  out.writeAt(t.directories, pos);
  pos += t.directories.length;

  const table = (entries: Buffer): number => {
    const { bytes, listAt } = lookupTable(entries, pos, compress);
    out.writeAt(bytes, pos);
    pos += bytes.length;
    return listAt;
  };
  const fragEntries = Buffer.alloc(16 * data.fragments.length);
  data.fragments.forEach((f, i) => {
    fragEntries.writeBigUInt64LE(BigInt(f.start), 16 * i);
    fragEntries.writeUInt32LE(f.size, 16 * i + 8);
  });
  const fragTable = table(fragEntries);
  const exportEntries = Buffer.alloc(8 * t.refs.length);
  t.refs.forEach((r, i) => exportEntries.writeBigUInt64LE(BigInt(r), 8 * i));
  const exportTable = table(exportEntries);
  const idEntries = Buffer.alloc(4 * t.ids.length);
  t.ids.forEach((id, i) => idEntries.writeUInt32LE(id, 4 * i));
  const idTable = table(idEntries);

  // xattrs: the key/value blocks, then the id entries (u64 ref, u32 count, u32 size)
  // in metadata blocks, then an uncompressed header (u64 key/value start, u32 count,
  // u32 0) followed by the u64 positions of the id-entry blocks; the superblock points
  // at that header.
  let xattrTable = NONE;
  if (t.xattrIds.length) {
    const kvStart = pos;
    out.writeAt(t.xattrKv, pos);
    pos += t.xattrKv.length;
    const entries = Buffer.alloc(16 * t.xattrIds.length);
    t.xattrIds.forEach((x, i) => {
      entries.writeBigUInt64LE(BigInt(x.ref), 16 * i);
      entries.writeUInt32LE(x.count, 16 * i + 8);
      entries.writeUInt32LE(x.size, 16 * i + 12);
    });
    const meta = new MetaWriter(compress);
    const positions: number[] = [];
    for (let i = 0; i < entries.length; i += 8192) {
      positions.push(pos + meta.pos().block);
      meta.append(entries.subarray(i, i + 8192));
    }
    const blocks = meta.finish();
    out.writeAt(blocks, pos);
    pos += blocks.length;
    const head = Buffer.alloc(16 + 8 * positions.length);
    head.writeBigUInt64LE(BigInt(kvStart), 0);
    head.writeUInt32LE(t.xattrIds.length, 8);
    positions.forEach((p, i) => head.writeBigUInt64LE(BigInt(p), 16 + 8 * i));
    xattrTable = BigInt(pos);
    out.writeAt(head, pos);
    pos += head.length;
  }

  const sb = Buffer.alloc(SUPERBLOCK_SIZE);
  sb.writeUInt32LE(MAGIC, 0);
  sb.writeUInt32LE(t.inodeCount, 4);
  sb.writeUInt32LE(clampTime(o.epoch.sec), 8);
  sb.writeUInt32LE(blockSize, 12);
  sb.writeUInt32LE(data.fragments.length, 16);
  sb.writeUInt16LE(COMPRESSORS[codec.name].id, 20);
  sb.writeUInt16LE(Math.log2(blockSize), 22);
  sb.writeUInt16LE(flags, 24);
  sb.writeUInt16LE(t.ids.length, 26);
  sb.writeUInt16LE(4, 28);
  sb.writeUInt16LE(0, 30);
  sb.writeBigUInt64LE(BigInt(t.rootRef), 32);
  sb.writeBigUInt64LE(BigInt(pos), 40);
  sb.writeBigUInt64LE(BigInt(idTable), 48);
  sb.writeBigUInt64LE(xattrTable, 56);
  sb.writeBigUInt64LE(BigInt(inodeTable), 64);
  sb.writeBigUInt64LE(BigInt(dirTable), 72);
  sb.writeBigUInt64LE(BigInt(fragTable), 80);
  sb.writeBigUInt64LE(BigInt(exportTable), 88);
  out.writeAt(sb, 0);
  out.setSize(Math.ceil(pos / 4096) * 4096);
  return { droppedXattrs: t.droppedXattrs };
}
