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
import type { Compressed, CompressPool } from './pool.js';

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

export interface DataResult {
  files: Map<Node, FileData>;
  /** fragment table entries */
  fragments: { start: number; size: number }[];
  /** position after the last data or fragment block */
  end: number;
}

type Item =
  | { kind: 'start'; info: FileData }
  | { kind: 'block'; info: FileData; length: number; done: Promise<Compressed> }
  | { kind: 'sparse'; info: FileData; blocks: number; length: number }
  | { kind: 'fragment'; index: number; done: Promise<Compressed> };

/**
 * Whole-file dedup, asked file by file in writing order (so the hashing overlaps the
 * compression): the earlier file with the same bytes, if any.
 */
export class Dedup {
  private sizes = new Map<number, number>();
  private seen = new Map<string, FileNode[]>();

  constructor(files: FileNode[]) {
    for (const f of files) this.sizes.set(f.content.size, (this.sizes.get(f.content.size) ?? 0) + 1);
  }

  find(f: FileNode): FileNode | undefined {
    const size = f.content.size;
    if (size === 0 || this.sizes.get(size)! < 2) return undefined;
    // the hash covers where the data is and its bytes, never the holes' zeros: two
    // sparse files of 1 TiB compare in the time of their data
    const key = `${size}:${layoutDigest(f.content)}`;
    const earlier = this.seen.get(key);
    const same = earlier?.find((g) => sameContent(g.content, f.content));
    if (same) return same;
    if (earlier) earlier.push(f);
    else this.seen.set(key, [f]);
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

/** Writes the data of `files` (each node once, in order) from position `start`. */
export async function writeData(
  files: FileNode[],
  out: ImageSink,
  start: number,
  blockSize: number,
  pool: CompressPool,
  inFlight: number,
): Promise<DataResult> {
  const infos = new Map<Node, FileData>();
  const fragments: { start: number; size: number }[] = [];
  const queue: Item[] = [];
  const zero = Buffer.alloc(blockSize);
  let pos = start;
  let frag = Buffer.allocUnsafeSlow(blockSize);
  let fragUsed = 0;

  // compression jobs submitted and not yet written; the queue also holds markers
  // (file starts, sparse blocks) that cost nothing, so only jobs count against inFlight
  let jobs = 0;
  const drainOne = async (): Promise<void> => {
    const item = queue.shift()!;
    if (item.kind === 'block' || item.kind === 'fragment') jobs--;
    if (item.kind === 'start') {
      item.info.start = pos;
    } else if (item.kind === 'sparse') {
      for (let k = 0; k < item.blocks; k++) item.info.sizes.push(0);
      item.info.sparse += item.blocks * item.length;
    } else if (item.kind === 'block') {
      const c = await item.done;
      out.writeAt(c.bytes, pos);
      pos += c.bytes.length;
      item.info.sizes.push(c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length);
    } else {
      const c = await item.done;
      out.writeAt(c.bytes, pos);
      fragments[item.index] = { start: pos, size: c.raw ? c.bytes.length | RAW_BLOCK : c.bytes.length };
      pos += c.bytes.length;
    }
  };
  const push = async (item: Item): Promise<void> => {
    queue.push(item);
    if (item.kind === 'block' || item.kind === 'fragment') jobs++;
    while (jobs > inFlight) await drainOne();
  };
  // the fragment block being filled has index fragIndex
  let fragIndex = 0;
  const flushFragment = async (): Promise<void> => {
    if (!fragUsed) return;
    const block = frag.subarray(0, fragUsed);
    const index = fragIndex++;
    frag = Buffer.allocUnsafeSlow(blockSize);
    fragUsed = 0;
    await push({ kind: 'fragment', index, done: pool.compress(block) });
  };

  const dedup = new Dedup(files);
  for (const file of files) {
    const first = dedup.find(file);
    if (first) {
      // the first copy's record, filled in as its blocks are written
      infos.set(file, infos.get(first)!);
      continue;
    }
    const c = file.content;
    const info: FileData = { start: 0, sizes: [], fragment: NO_FRAGMENT, fragmentOffset: 0, sparse: 0 };
    infos.set(file, info);
    const full = Math.floor(c.size / blockSize);
    const tail = c.size % blockSize;
    const reader = new ContentReader(c);
    try {
      await push({ kind: 'start', info });
      for (let b = 0; b < full;) {
        // whole blocks inside a hole are sparse blocks, never read: a 1 TiB hole costs
        // one queue item, not 8 million reads
        const holes = Math.min(full, Math.floor(reader.nextData(b * blockSize) / blockSize)) - b;
        if (holes > 0) {
          await push({ kind: 'sparse', info, blocks: holes, length: blockSize });
          b += holes;
          continue;
        }
        const block = reader.read(b * blockSize, blockSize);
        if (!block || block.equals(zero)) await push({ kind: 'sparse', info, blocks: 1, length: blockSize });
        else await push({ kind: 'block', info, length: blockSize, done: pool.compress(block) });
        b++;
      }
      if (tail) {
        const bytes = reader.read(full * blockSize, tail);
        if (fragUsed + tail > blockSize) await flushFragment();
        if (bytes) bytes.copy(frag, fragUsed);
        else frag.fill(0, fragUsed, fragUsed + tail);
        info.fragment = fragIndex;
        info.fragmentOffset = fragUsed;
        fragUsed += tail;
      }
    } finally {
      reader.close();
    }
  }
  await flushFragment();
  while (queue.length) await drainOne();
  return { files: infos, fragments, end: pos };
}
