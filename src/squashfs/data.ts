// File data: data blocks, fragments (tail-end packing), whole-file dedup, sparse blocks.
// Sources: squashfs-tools-ng doc/format.adoc ("Data and Fragment Blocks", "File
// Inodes", "Fragment Table"); mksquashfs.c for dedup and tail ends.
//
// - A file is cut into block_size blocks. Its full blocks are written one after the
//   other from `blocks start`; the inode lists each block's stored size as a u32:
//   bit 24 set = stored raw, 0 = a block of zeros not stored at all (sparse; the kernel
//   fills zeros, fs/squashfs/file.c). A block's position is blocks start + the sum of
//   the stored sizes before it.
// - The tail (size % block_size bytes; the whole file when smaller than a block) goes
//   into a fragment block shared with other tails, at most block_size bytes, compressed
//   as one; the inode names the fragment index and the offset inside it. A file without
//   a tail (or empty) has fragment index 0xFFFFFFFF (a dangling fragment is an error).
// - Fragment table entries: u64 start, u32 stored size (bit 24 = raw), u32 0.
// - Dedup (as mksquashfs): a file whose size another file shares is hashed (sha256);
//   on an equal hash the bytes are compared, and a duplicate's inode points at the
//   first copy's blocks and fragment.
// Compression runs on the pool; results are written strictly in submission order, so
// the layout does not depend on which worker finishes first. Content is read block by
// block from its pieces: holes are never read and a big file is never held whole.
import type { ImageSink } from '../artifact.js';
import { ContentReader, layoutDigest, readRange, segments, type Content } from '../tree/content.js';
import type { FileNode, Node } from '../tree/tree.js';
import { BLOCK_UNCOMPRESSED as RAW_BLOCK, NO_FRAGMENT } from './format.js';
import type { CompressPool } from './pool.js';

export interface FileData {
  /** absolute position of the first block */
  start: number;
  /** stored size of each full block (RAW_BLOCK flag, 0 = sparse) */
  sizes: number[];
  fragment: number;
  fragmentOffset: number;
  /** bytes not stored because their blocks are all zeros */
  sparse: number;
}

/** The sizes of a file without full blocks (most files): one shared empty list until a block comes. */
const NO_BLOCKS: number[] = [];

/** Records a block's stored size in the file's list (its own list from the first block on). */
function addSize(info: FileData, size: number): void {
  if (info.sizes === NO_BLOCKS) info.sizes = [];
  info.sizes.push(size);
}

export interface DataResult {
  files: Map<Node, FileData>;
  /** fragment table entries */
  fragments: { start: number; size: number }[];
  /** position after the last data or fragment block */
  end: number;
}

// A block or fragment item takes its result from the pool (nextAsync) when it is written:
// items are written in the order their blocks were submitted, the pool's order.
type Item =
  | { kind: 'start'; info: FileData }
  | { kind: 'block'; info: FileData; length: number }
  | { kind: 'sparse'; info: FileData; blocks: number; length: number }
  | { kind: 'fragment'; index: number };

/**
 * Whole-file dedup, asked file by file in writing order (so the hashing overlaps the
 * compression): the earlier file with the same bytes, if any.
 */
export class Dedup {
  private sizes = new Map<number, number>();
  /** the first file of each size and layout digest (binary, as a latin1 string), more on a
   *  digest match whose bytes differ: one string and one reference per file, not a list */
  private seen = new Map<string, FileNode | FileNode[]>();

  constructor(files: FileNode[]) {
    for (const f of files) this.sizes.set(f.content.size, (this.sizes.get(f.content.size) ?? 0) + 1);
  }

  find(f: FileNode): FileNode | undefined {
    const size = f.content.size;
    if (size === 0 || this.sizes.get(size)! < 2) return undefined;
    // the hash covers where the data is and its bytes, never the holes' zeros: two
    // sparse files of 1 TiB compare in the time of their data
    const key = Buffer.from(layoutDigest(f.content), 'hex').toString('latin1') + size;
    const earlier = this.seen.get(key);
    if (!earlier) {
      this.seen.set(key, f);
      return undefined;
    }
    const list = Array.isArray(earlier) ? earlier : [earlier];
    const same = list.find((g) => sameContent(g.content, f.content));
    if (same) return same;
    this.seen.set(key, [...list, f]);
    return undefined;
  }
}

/** Same holes and same data bytes (streamed; the holes are not read). */
function sameContent(a: Content, b: Content): boolean {
  const sa = segments(a);
  const sb = segments(b);
  if (sa.length !== sb.length || sa.some((s, i) => s.at !== sb[i]!.at || s.length !== sb[i]!.length)) return false;
  return sa.every((s) => sameBytes(readRange(a, s.at, s.at + s.length), readRange(b, s.at, s.at + s.length)));
}

/** Byte comparison of two streams of the same length. */
function sameBytes(ia: Iterator<Uint8Array>, ib: Iterator<Uint8Array>): boolean {
  let ca: Uint8Array = new Uint8Array(0);
  let cb: Uint8Array = new Uint8Array(0);
  for (;;) {
    if (!ca.length) {
      const r = ia.next();
      if (r.done) return ib.next().done === true && !cb.length;
      ca = r.value;
    }
    if (!cb.length) {
      const r = ib.next();
      if (r.done) return false;
      cb = r.value;
    }
    const n = Math.min(ca.length, cb.length);
    if (Buffer.compare(ca.subarray(0, n), cb.subarray(0, n)) !== 0) return false;
    ca = ca.subarray(n);
    cb = cb.subarray(n);
  }
}

/**
 * The writing state of `writeData`: the queue of items in submission order, the
 * position reached, the fragment block being filled. Methods, not closures, so nothing
 * is allocated per block.
 */
class DataWriter {
  readonly infos = new Map<Node, FileData>();
  readonly fragments: { start: number; size: number }[] = [];
  pos: number;
  private readonly queue: Item[] = [];
  private readonly zero: Buffer;
  private frag: Buffer;
  private fragUsed = 0;
  // the fragment block being filled has index fragIndex
  private fragIndex = 0;
  // compression jobs submitted and not yet written; the queue also holds markers
  // (file starts, sparse blocks) that cost nothing, so only jobs count against inFlight
  private jobs = 0;
  private readonly out: ImageSink;
  private readonly blockSize: number;
  private readonly pool: CompressPool;
  private readonly inFlight: number;

  constructor(out: ImageSink, start: number, blockSize: number, pool: CompressPool, inFlight: number) {
    this.out = out;
    this.pos = start;
    this.blockSize = blockSize;
    this.pool = pool;
    this.inFlight = inFlight;
    this.zero = Buffer.alloc(blockSize);
    this.frag = Buffer.allocUnsafeSlow(blockSize);
  }

  /** Writes (or records) the oldest item of the queue. */
  async drainOne(): Promise<void> {
    const item = this.queue.shift()!;
    if (item.kind === 'block' || item.kind === 'fragment') this.jobs--;
    if (item.kind === 'start') {
      item.info.start = this.pos;
    } else if (item.kind === 'sparse') {
      for (let k = 0; k < item.blocks; k++) addSize(item.info, 0);
      item.info.sparse += item.blocks * item.length;
    } else if (item.kind === 'block') {
      const c = await this.pool.nextAsync();
      this.out.writeAt(c.bytes, this.pos);
      this.pos += c.bytes.length;
      addSize(item.info, c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length);
    } else {
      const c = await this.pool.nextAsync();
      this.out.writeAt(c.bytes, this.pos);
      this.fragments[item.index] = { start: this.pos, size: c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length };
      this.pos += c.bytes.length;
    }
  }

  /** Queues an item, writing the oldest ones while more than inFlight jobs are pending. */
  async push(item: Item): Promise<void> {
    this.queue.push(item);
    if (item.kind === 'block' || item.kind === 'fragment') this.jobs++;
    while (this.jobs > this.inFlight) await this.drainOne();
  }

  /** Submits the fragment block being filled, if it holds anything, and starts a new one. */
  async flushFragment(): Promise<void> {
    if (!this.fragUsed) return;
    const block = this.frag.subarray(0, this.fragUsed);
    const index = this.fragIndex++;
    this.frag = Buffer.allocUnsafeSlow(this.blockSize);
    this.fragUsed = 0;
    this.pool.submit(block);
    await this.push({ kind: 'fragment', index });
  }

  /** One file (not a duplicate): its full blocks, then its tail in a fragment. */
  async writeFile(file: FileNode): Promise<void> {
    const c = file.content;
    const info: FileData = { start: 0, sizes: NO_BLOCKS, fragment: NO_FRAGMENT, fragmentOffset: 0, sparse: 0 };
    this.infos.set(file, info);
    const full = Math.floor(c.size / this.blockSize);
    const tail = c.size % this.blockSize;
    const reader = new ContentReader(c);
    try {
      await this.push({ kind: 'start', info });
      await this.writeBlocks(info, reader, full);
      if (tail) await this.addTail(info, reader, full * this.blockSize, tail);
    } finally {
      reader.close();
    }
  }

  /** The first `full` blocks of a file: compressed, or sparse when all zeros. */
  private async writeBlocks(info: FileData, reader: ContentReader, full: number): Promise<void> {
    const blockSize = this.blockSize;
    for (let b = 0; b < full;) {
      // whole blocks inside a hole are sparse blocks, never read: a 1 TiB hole costs
      // one queue item, not 8 million reads
      const holes = Math.min(full, Math.floor(reader.nextData(b * blockSize) / blockSize)) - b;
      if (holes > 0) {
        await this.push({ kind: 'sparse', info, blocks: holes, length: blockSize });
        b += holes;
        continue;
      }
      const block = reader.read(b * blockSize, blockSize);
      if (!block || block.equals(this.zero)) await this.push({ kind: 'sparse', info, blocks: 1, length: blockSize });
      else {
        this.pool.submit(block);
        await this.push({ kind: 'block', info, length: blockSize });
      }
      b++;
    }
  }

  /** A file's tail (`tail` bytes from `at`) copied into the fragment block being filled. */
  private async addTail(info: FileData, reader: ContentReader, at: number, tail: number): Promise<void> {
    const bytes = reader.read(at, tail);
    if (this.fragUsed + tail > this.blockSize) await this.flushFragment();
    if (bytes) bytes.copy(this.frag, this.fragUsed);
    else this.frag.fill(0, this.fragUsed, this.fragUsed + tail);
    info.fragment = this.fragIndex;
    info.fragmentOffset = this.fragUsed;
    this.fragUsed += tail;
  }

  /** The last fragment block, everything still queued, and the result. */
  async finish(): Promise<DataResult> {
    await this.flushFragment();
    while (this.queue.length) await this.drainOne();
    return { files: this.infos, fragments: this.fragments, end: this.pos };
  }
}

/** Writes the data of `files` (each node once, in order) from position `start`. */
export async function writeData(
  files: FileNode[],
  out: ImageSink,
  start: number,
  blockSize: number,
  pool: CompressPool,
  inFlight: number,
): Promise<DataResult> {
  const w = new DataWriter(out, start, blockSize, pool, inFlight);
  const dedup = new Dedup(files);
  for (const file of files) {
    const first = dedup.find(file);
    // a duplicate gets the first copy's record, filled in as its blocks are written
    if (first) w.infos.set(file, w.infos.get(first)!);
    else await w.writeFile(file);
  }
  return w.finish();
}
