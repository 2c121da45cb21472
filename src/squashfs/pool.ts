// The squashfs compression pool: blocks (data and fragment blocks) compressed on worker
// threads (src/worker-pool.ts), results taken in submission order, and kept by content
// in a CompressedCache when one is given.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { codeVersion, CompressedCache } from '../compressed-cache.js';
import { OrderedPool, type PoolCache, startWorkersAhead } from '../worker-pool.js';
import { type BlockCompressor, checkCodec, type Codec, loadCompressor } from './codec.js';
import { type BlockJob, type Compressed, compressBlock, compressJob } from './block-job.js';

export type CompressPool = OrderedPool<BlockJob, Compressed>;

/** The bytes of a job the main thread read (only those are looked up in a cache). */
function bytesOf(job: BlockJob): Uint8Array {
  if (job instanceof Uint8Array) return job;
  throw new Error('squashfs: a block read on a worker cannot be looked up in the compressed cache');
}

/** The code that makes a block's bytes: the codecs' modules, zstd's and lz4's WebAssembly, pako. */
function codecVersion(): string {
  const lib = (name: string) => pathToFileURL(createRequire(import.meta.url).resolve(name)).href;
  return codeVersion(import.meta.url, [
    './codec.js',
    './lz4.js',
    '../../wasm/lz4/lz4.wasm',
    '../zstd.js',
    '../zstd-wasm.js',
    '../../wasm/zstd/zstd.wasm',
    lib('pako'),
  ]);
}

/**
 * A stored block: byte 0 says raw (1: the block itself, not stored again) or compressed
 * (0: the bytes follow).
 */
function blockCache(store: CompressedCache, codec: Codec, blockSize: number): PoolCache<BlockJob, Compressed> {
  const tag = `squashfs block ${codec.name} level ${codec.level} block ${blockSize} code ${codecVersion()}`;
  return {
    store,
    key: (job) => CompressedCache.key([tag, bytesOf(job)]),
    encode: (c) => (c.raw ? Uint8Array.of(1) : Buffer.concat([Uint8Array.of(0), c.bytes])),
    decode: (payload, job) => {
      if (payload[0] === 1 && payload.length === 1) return { bytes: bytesOf(job), raw: true };
      return payload[0] === 0 && payload.length > 1 ? { bytes: payload.subarray(1), raw: false } : undefined;
    },
  };
}

/**
 * `compress` for metadata blocks (inode, directory, fragment, export, id and xattr
 * tables), looked up in and added to the cache as the data blocks are (a metadata block
 * is compressed by the same function as a data block, so it shares their keys).
 */
export function cachingCompressor(
  compress: BlockCompressor,
  codec: Codec,
  blockSize: number,
  store: CompressedCache | undefined,
): BlockCompressor {
  if (!store) return compress;
  const c = blockCache(store, codec, blockSize);
  return (block: Uint8Array) => {
    const key = c.key(block);
    const payload = store.get(key);
    let done = payload && c.decode(payload, block);
    if (!done) {
      done = compressBlock(compress, block);
      store.put(key, c.encode(done));
    }
    return done.raw ? null : done.bytes;
  };
}

export interface CompressPoolOptions {
  workers: number;
  /** keeps the compressed blocks by content */
  cache?: CompressedCache;
  blockSize: number;
}

/**
 * Blocks per message to a worker: lz4 compresses a 128 KiB block in about the time a
 * message between threads costs, so its blocks travel 16 at a time (a message costs both
 * threads tens of microseconds to send, take apart and answer: on the flattened bench
 * image 16 spent about 0.1 s less CPU on the main thread and as much on the workers than
 * 4); zstd and gzip take tens of milliseconds a block, one at a time keeps the workers
 * evenly busy.
 */
export function blocksPerMessage(codec: Codec): number {
  return codec.name === 'lz4' ? 16 : 1;
}

const WORKER = { script: 'squashfs/worker.js', from: import.meta.url };

/**
 * Starts the compression workers for `codec` ahead of the pool (they load their modules
 * and the codec while the caller flattens the layers); the pool of the same codec takes
 * them. A codec that fails its check starts none (the write reports it).
 */
export function startCompressWorkersAhead(codec: Codec, workers: number): void {
  try {
    checkCodec(codec);
  } catch {
    return;
  }
  if (workers > 0) startWorkersAhead({ ...WORKER, data: codec }, workers);
}

/** workers = 0 compresses on the calling thread. */
export async function startCompressPool(codec: Codec, o: CompressPoolOptions): Promise<CompressPool> {
  const compress = await loadCompressor(codec, true);
  return new OrderedPool<BlockJob, Compressed>({
    name: 'squashfs',
    ...WORKER,
    data: codec,
    workers: o.workers,
    inline: (job) => compressJob(compress, job),
    cache: o.cache && blockCache(o.cache, codec, o.blockSize),
    lend: true,
    batch: blocksPerMessage(codec),
  });
}
