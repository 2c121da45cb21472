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
// - Dedup (as mksquashfs): a file whose size another file shares is compared with the
//   earlier files of that size, and a duplicate's inode points at the first copy's
//   blocks and fragment. A size that two files share: the second is compared byte for
//   byte with the first (no hash; the first is not read when written). A size of three
//   files or more: each is hashed (sha256), and on an equal hash the bytes are compared.
// Compression runs on the pool; results are written strictly in submission order, so
// the layout does not depend on which worker finishes first. Content is read block by
// block from its pieces: holes are never read and a big file is never held whole. A file
// of at most one block that dedup has to hash or compare is read once: the same bytes
// are hashed (or compared) and written.
import type { ImageSink } from '../artifact.js';
import * as crypto from 'node:crypto';
import { segments, type Content } from '../tree/content.js';
import type { FileNode, Node } from '../tree/tree.js';
import { type FileRanges, SharedReader } from './file-reader.js';
import { BLOCK_UNCOMPRESSED as RAW_BLOCK, NO_FRAGMENT } from './format.js';
import type { Compressed } from './block-job.js';
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
  | { kind: 'start'; info: FileData; index: number }
  | { kind: 'block'; info: FileData; length: number }
  | { kind: 'sparse'; info: FileData; blocks: number; length: number }
  | { kind: 'fragment'; index: number };

/** Bytes compared or hashed at a time when a file is not held whole. */
const CHUNK = 1 << 20;

/** Data written between two fsyncs started ahead (the commit's fsync then finds little left to write). */
const SYNC_STEP = 32 << 20;

/**
 * sha256, binary as a latin1 string ('binary': 32 characters): one call (crypto.hash,
 * Node 20.12+) where there is one (a namespace import: older Nodes have none).
 */
const sha256 =
  typeof crypto.hash === 'function'
    ? (b: Uint8Array) => crypto.hash('sha256', b, 'binary')
    : (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('binary');

/**
 * Whole-file dedup, asked file by file in writing order (so the hashing overlaps the
 * compression): the earlier file with the same bytes, if any.
 */
export class Dedup {
  private sizes = new Map<number, number>();
  /** the first file of each size that exactly two files have, until the second comes */
  private pairs = new Map<number, FileNode>();
  /** buffers for the chunks of a file that is not held whole (hashed, compared), made when first needed */
  private chunks: Uint8Array[] = [];
  /** the first file of each size and layout digest (binary, as a latin1 string), more on a
   *  digest match whose bytes differ: one string and one reference per file, not a list */
  private seen = new Map<string, FileNode | FileNode[]>();

  constructor(
    files: FileNode[],
    private reader: SharedReader,
  ) {
    for (const f of files) this.sizes.set(f.content.size, (this.sizes.get(f.content.size) ?? 0) + 1);
  }

  /** Whether `find` reads f's bytes (to hash them, or to compare them with the other file of its size). */
  wantsBytes(f: FileNode): boolean {
    const size = f.content.size;
    const files = size > 0 ? this.sizes.get(size)! : 0;
    return files > 2 || (files === 2 && this.pairs.has(size));
  }

  /** `whole`: f's bytes (holes as zeros) when the caller holds them, so they are not read again. */
  find(f: FileNode, whole?: Uint8Array | null): FileNode | undefined {
    const size = f.content.size;
    const files = size > 0 ? this.sizes.get(size)! : 0;
    if (files === 2) return this.pair(f, whole);
    if (files < 2) return undefined;
    const key = this.layoutDigest(f.content, whole) + size;
    const earlier = this.seen.get(key);
    if (!earlier) {
      this.seen.set(key, f);
      return undefined;
    }
    const list = Array.isArray(earlier) ? earlier : [earlier];
    const same = list.find((g) => this.sameContent(g.content, f.content));
    if (same) return same;
    this.seen.set(key, [...list, f]);
    return undefined;
  }

  /** f of a size that exactly two files have: the first is kept, the second compared with it. */
  private pair(f: FileNode, whole?: Uint8Array | null): FileNode | undefined {
    const first = this.pairs.get(f.content.size);
    if (!first) return void this.pairs.set(f.content.size, f);
    this.pairs.delete(f.content.size);
    return this.sameContent(first.content, f.content, whole) ? first : undefined;
  }

  /**
   * sha256 (binary, as a latin1 string) of a content without holes: of its bytes; else
   * of where it holds data and of those bytes: for each data segment "<offset>+<length>;"
   * then its bytes (src/tree/content.ts layoutDigest's rule). The holes' zeros are never
   * hashed: two sparse files of 1 TiB compare in the time of their data.
   */
  private layoutDigest(c: Content, whole?: Uint8Array | null): string {
    const list = segments(c);
    const full = list.length === 1 && list[0]!.length === c.size;
    if (full && whole) return sha256(whole);
    const h = crypto.createHash('sha256');
    for (const s of list) {
      if (!full) h.update(`${s.at}+${s.length};`);
      if (whole) h.update(whole.subarray(s.at, s.at + s.length));
      else for (let o = s.at; o < s.at + s.length; o += CHUNK) h.update(this.range(c, o, s.at + s.length));
    }
    return h.digest('binary');
  }

  /** Same holes and same data bytes (the holes are not read); `bWhole`: b's bytes when held. */
  private sameContent(a: Content, b: Content, bWhole?: Uint8Array | null): boolean {
    const sa = segments(a);
    const sb = segments(b);
    if (sa.length !== sb.length || sa.some((s, i) => s.at !== sb[i]!.at || s.length !== sb[i]!.length)) return false;
    for (const s of sa) {
      for (let o = s.at; o < s.at + s.length; o += CHUNK) {
        const end = s.at + s.length;
        const bBytes = bWhole ? bWhole.subarray(o, Math.min(o + CHUNK, end)) : this.range(b, o, end, 1);
        if (Buffer.compare(this.range(a, o, end), bBytes) !== 0) return false;
      }
    }
    return true;
  }

  /** At most CHUNK bytes of c from `from`, not past `end`, in chunk buffer `k` (valid until its next use). */
  private range(c: Content, from: number, end: number, k = 0): Uint8Array {
    const length = Math.min(CHUNK, end - from);
    const into = (this.chunks[k] ??= new Uint8Array(CHUNK));
    return this.reader.read(c, from, length, into) ?? into.fill(0, 0, length).subarray(0, length);
  }
}

/**
 * The writing state of `writeData`: the queue of items in submission order, the
 * position reached, the fragment block being filled. Methods, not closures, so nothing
 * is allocated per block.
 */
class DataWriter {
  infos = new Map<Node, FileData>();
  readonly fragments: { start: number; size: number }[] = [];
  pos: number;
  private readonly queue: Item[] = [];
  private readonly zero: Buffer;
  private frag: Uint8Array;
  /** block-sized buffers back from the pool, to read the next blocks into (no buffer made per block) */
  private readonly spare: Uint8Array[] = [];
  private fragUsed = 0;
  /** the file ranges the worker reads into the fragment block being filled (workersRead) */
  private fragReads: FileRanges = [];
  // the fragment block being filled has index fragIndex
  private fragIndex = 0;
  // compression jobs submitted and not yet written; the queue also holds markers
  // (file starts, sparse blocks) that cost nothing, so only jobs count against inFlight
  private jobs = 0;
  private syncedAt = 0;
  /** files of writeData's order whose data is all written (those before the last file started) */
  private written = 0;
  /**
   * Work for the time this thread would wait for a compressed block (the tables of the
   * directories whose files are written, src/squashfs/tables.ts): called with the number
   * of files written while the oldest block is not back; false when it has nothing to do.
   */
  idle?: (written: number) => boolean;
  private readonly out: ImageSink;
  private readonly blockSize: number;
  private readonly pool: CompressPool;
  private readonly inFlight: number;

  constructor(
    out: ImageSink,
    start: number,
    blockSize: number,
    pool: CompressPool,
    inFlight: number,
    readonly reader: SharedReader,
    /** the compression workers read the file data of blocks and fragments (no cache: one needs the bytes here) */
    private readonly workersRead: boolean,
  ) {
    this.out = out;
    this.pos = start;
    this.syncedAt = start;
    this.blockSize = blockSize;
    this.pool = pool;
    this.inFlight = inFlight;
    this.zero = Buffer.alloc(blockSize);
    this.frag = this.buffer();
  }

  /** Writes (or records) the oldest item of the queue. */
  async drainOne(): Promise<void> {
    if (this.pos - this.syncedAt >= SYNC_STEP) {
      this.out.syncAhead?.();
      this.syncedAt = this.pos;
    }
    const item = this.queue.shift()!;
    if (item.kind === 'block' || item.kind === 'fragment') this.jobs--;
    if (item.kind === 'start') {
      item.info.start = this.pos;
      this.written = item.index;
    } else if (item.kind === 'sparse') {
      for (let k = 0; k < item.blocks; k++) addSize(item.info, 0);
      item.info.sparse += item.blocks * item.length;
    } else if (item.kind === 'block') {
      const c = await this.result();
      if (c.sparse) {
        addSize(item.info, 0);
        item.info.sparse += item.length;
        return this.recycle(c.bytes);
      }
      this.out.writeAt(c.bytes, this.pos);
      this.pos += c.bytes.length;
      addSize(item.info, c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length);
      this.recycle(c.bytes);
    } else {
      const c = await this.result();
      this.out.writeAt(c.bytes, this.pos);
      this.fragments[item.index] = { start: this.pos, size: c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length };
      this.pos += c.bytes.length;
      this.recycle(c.bytes);
    }
  }

  /** The oldest block back from the pool, doing the idle work while it is not. */
  private async result(): Promise<Compressed> {
    while (this.idle && !this.pool.poll()) if (!this.idle(this.written)) break;
    return this.pool.nextAsync();
  }

  /** A block-sized buffer to fill: a spare one, else a new one. */
  buffer(): Uint8Array {
    return this.spare.pop() ?? new Uint8Array(this.blockSize);
  }

  /** Keeps the buffer under `bytes` for later blocks when it is one of ours (a view at its start, block-sized, not a Node Buffer). */
  recycle(bytes: Uint8Array | null | undefined): void {
    if (!bytes || bytes.byteOffset !== 0 || Buffer.isBuffer(bytes) || !(bytes.buffer instanceof ArrayBuffer)) return;
    if (bytes.buffer.byteLength === this.blockSize && this.spare.length <= this.inFlight)
      this.spare.push(new Uint8Array(bytes.buffer));
  }

  /** Queues an item; say `drain()` before the next when `full`. */
  push(item: Item): void {
    this.queue.push(item);
    if (item.kind === 'block' || item.kind === 'fragment') this.jobs++;
  }

  /** More than inFlight jobs pending. */
  get full(): boolean {
    return this.jobs > this.inFlight;
  }

  /** Writes the oldest items while more than inFlight jobs are pending. */
  async drain(): Promise<void> {
    while (this.jobs > this.inFlight) await this.drainOne();
  }

  /** Submits the fragment block being filled, if it holds anything, and starts a new one. */
  async flushFragment(): Promise<void> {
    if (!this.fragUsed) return;
    const block = this.frag.subarray(0, this.fragUsed);
    const index = this.fragIndex++;
    this.frag = this.buffer();
    this.fragUsed = 0;
    this.pool.submit(this.workersRead ? { block, reads: this.fragReads, zeros: false } : block);
    this.fragReads = [];
    this.push({ kind: 'fragment', index });
    await this.drain();
  }

  /**
   * One file (not a duplicate): its full blocks, then its tail in a fragment. `whole`:
   * its bytes when the caller read them (a file of at most one block), else read here.
   */
  async writeFile(file: FileNode, index: number, whole?: Uint8Array | null): Promise<void> {
    const c = file.content;
    const info: FileData = { start: 0, sizes: NO_BLOCKS, fragment: NO_FRAGMENT, fragmentOffset: 0, sparse: 0 };
    this.infos.set(file, info);
    const full = Math.floor(c.size / this.blockSize);
    const tail = c.size % this.blockSize;
    this.push({ kind: 'start', info, index });
    if (whole !== undefined) {
      if (full) this.addBlock(info, whole);
      else await this.addTail(info, tail, () => whole);
    } else {
      await this.writeBlocks(info, c, full);
      const at = full * this.blockSize;
      if (tail && this.workersRead)
        await this.addTail(info, tail, (frag) => this.reader.read(c, at, tail, frag, this.fragReads));
      else if (tail) await this.addTail(info, tail, () => this.reader.read(c, at, tail));
    }
    await this.drain();
  }

  /** The first `full` blocks of a file: compressed, or sparse when all zeros. */
  private async writeBlocks(info: FileData, c: Content, full: number): Promise<void> {
    const blockSize = this.blockSize;
    for (let b = 0; b < full;) {
      // whole blocks inside a hole are sparse blocks, never read: a 1 TiB hole costs
      // one queue item, not 8 million reads
      const holes = Math.min(full, Math.floor(this.reader.nextData(c, b * blockSize) / blockSize)) - b;
      if (holes > 0) {
        this.push({ kind: 'sparse', info, blocks: holes, length: blockSize });
        b += holes;
        continue;
      }
      if (this.workersRead) this.addBlockRead(info, c, b * blockSize);
      else this.addBlock(info, this.reader.read(c, b * blockSize, blockSize, this.buffer()));
      if (this.full) await this.drain();
      b++;
    }
  }

  /** One full block (null: all hole): compressed, or sparse when all zeros. */
  private addBlock(info: FileData, block: Uint8Array | null): void {
    if (!block || this.zero.equals(block)) {
      this.push({ kind: 'sparse', info, blocks: 1, length: this.blockSize });
      this.recycle(block);
    } else {
      this.pool.submit(block);
      this.push({ kind: 'block', info, length: this.blockSize });
    }
  }

  /** One full block from `from` of c, read by the worker, which also finds whether it is all zeros. */
  private addBlockRead(info: FileData, c: Content, from: number): void {
    const reads: FileRanges = [];
    const buffer = this.buffer();
    const block = this.reader.read(c, from, this.blockSize, buffer, reads);
    if (!block) {
      this.push({ kind: 'sparse', info, blocks: 1, length: this.blockSize });
      return this.recycle(buffer);
    }
    this.pool.submit({ block, reads, zeros: true });
    this.push({ kind: 'block', info, length: this.blockSize });
  }

  /**
   * A file's `tail` bytes into the fragment block being filled: `fill` gets the free part
   * of the fragment block and gives the bytes to copy there, or that part itself when it
   * filled it, or null when they are all hole (zeros).
   */
  private async addTail(info: FileData, tail: number, fill: (free: Uint8Array) => Uint8Array | null): Promise<void> {
    if (this.fragUsed + tail > this.blockSize) await this.flushFragment();
    const free = this.frag.subarray(this.fragUsed);
    const bytes = fill(free);
    if (!bytes) this.frag.fill(0, this.fragUsed, this.fragUsed + tail);
    else if (bytes.buffer !== free.buffer) this.frag.set(bytes, this.fragUsed);
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

export interface DataOptions {
  /** compression jobs in flight */
  inFlight: number;
  /** the compression workers read the file data (DataWriter) */
  workersRead?: boolean;
  /** DataWriter.idle */
  idle?: (written: number) => boolean;
  /** the map the files' records go into (DataResult.files), e.g. one the idle work reads */
  infos?: Map<Node, FileData>;
}

/** Writes the data of `files` (each node once, in order) from position `start`. */
export async function writeData(
  files: FileNode[],
  out: ImageSink,
  start: number,
  blockSize: number,
  pool: CompressPool,
  o: DataOptions,
): Promise<DataResult> {
  const reader = new SharedReader();
  try {
    const w = new DataWriter(out, start, blockSize, pool, o.inFlight, reader, o.workersRead ?? false);
    w.idle = o.idle;
    if (o.infos) w.infos = o.infos;
    const dedup = new Dedup(files, reader);
    for (const [index, file] of files.entries()) {
      // a file of at most one block that dedup hashes or compares is read once, here
      const size = file.content.size;
      const whole =
        size <= blockSize && dedup.wantsBytes(file) ? reader.read(file.content, 0, size, w.buffer()) : undefined;
      const first = dedup.find(file, whole);
      // a duplicate gets the first copy's record, filled in as its blocks are written
      if (first) w.infos.set(file, w.infos.get(first)!);
      else await w.writeFile(file, index, whole);
      // a whole block went to the pool; a tail was copied into the fragment block
      if (size < blockSize || first) w.recycle(whole);
    }
    return await w.finish();
  } finally {
    reader.close();
  }
}
