// One block's compression, as a worker thread (./worker.ts) or the calling thread does it:
// the block's file ranges read into its buffer first when it comes with them (./data.ts,
// without a compressed cache), then compressed into that same buffer. Kept apart from
// ./pool.ts so that a worker loads neither the compressed cache nor the other codecs.
import type { BlockCompressor } from './codec.js';
import { type FileRanges, readRanges } from './file-reader.js';

/** A block as stored: compressed, or the block itself (raw) when compression does not shrink it. */
export interface Compressed {
  bytes: Uint8Array;
  raw: boolean;
  /** a BlockRead with `zeros` that read all zeros: not stored (a sparse block); `bytes` is empty */
  sparse?: boolean;
}

/**
 * A block whose file ranges the worker reads into `block` (a view at the start of its
 * buffer) before compressing it: the thread that plans the layout does not read the data.
 * `zeros`: a full block that may be all zeros (then not compressed: `sparse`).
 */
export interface BlockRead {
  block: Uint8Array;
  reads: FileRanges;
  zeros: boolean;
}

/** A block to compress: its bytes, or where to read them. */
export type BlockJob = Uint8Array | BlockRead;

export function compressBlock(compress: BlockCompressor, block: Uint8Array): Compressed {
  const out = compress(block);
  return out ? { bytes: out, raw: false } : { bytes: block, raw: true };
}

/**
 * As compressBlock, but the compressed bytes are copied over the block's own (they are
 * fewer): the result is a view at the start of the block's buffer, which the pool
 * (`lend`) sends back whole for the data writer to read the next block into.
 */
export function compressInPlace(compress: BlockCompressor, block: Uint8Array): Compressed {
  const out = compress(block);
  if (!out) return { bytes: block, raw: true };
  block.set(out);
  return { bytes: block.subarray(0, out.length), raw: false };
}

let zeros = new Uint8Array(0);

function allZeros(block: Uint8Array): boolean {
  if (zeros.length < block.length) zeros = new Uint8Array(block.length);
  return Buffer.from(block.buffer, block.byteOffset, block.length).equals(zeros.subarray(0, block.length));
}

/** A job's stored form (compressed in place), its file ranges read first. */
export function compressJob(compress: BlockCompressor, job: BlockJob): Compressed {
  if (job instanceof Uint8Array) return compressInPlace(compress, job);
  readRanges(job.block, job.reads);
  if (job.zeros && allZeros(job.block)) return { bytes: job.block.subarray(0, 0), raw: true, sparse: true };
  return compressInPlace(compress, job.block);
}
