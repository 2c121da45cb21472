// The deflate pool: chunks of a raw deflate stream compressed on worker threads
// (src/worker-pool.ts), taken synchronously in submission order (next() blocks), so
// synchronous writers (the cpio writer, a disk image writer) compress on every core with
// no change to their flow. Starting a worker costs about as much CPU as deflating 2 MiB,
// so the workers start only once `inlineFirst` bytes have been compressed on the calling
// thread.
import { codeVersion, CompressedCache } from '../compressed-cache.js';
import { OrderedPool, type PoolCache } from '../worker-pool.js';
import { checkSettings, type DeflateSettings, deflateChunk } from './raw.js';

/** Default bytes compressed on the calling thread before the workers start. */
export const INLINE_FIRST = 4 << 20;

export interface PoolOptions {
  /** compression threads; 0 = all on the calling thread */
  workers: number;
  /** bytes compressed on the calling thread before the workers start (default INLINE_FIRST) */
  inlineFirst?: number;
  /** keeps the compressed chunks by content */
  cache?: CompressedCache;
}

/** One piece of the stream; see deflateChunk. */
export interface DeflateJob {
  data: Uint8Array;
  last: boolean;
  dictionary?: Uint8Array;
}

export type DeflatePool = OrderedPool<DeflateJob, Uint8Array>;

/**
 * A chunk's piece depends on the settings, whether it ends the stream, its dictionary
 * (the 32 KiB before it, in pigz's scheme) and its bytes; and on the code: raw.ts and
 * zlib in WebAssembly.
 */
function chunkCache(store: CompressedCache, s: DeflateSettings): PoolCache<DeflateJob, Uint8Array> {
  const code = codeVersion(import.meta.url, ['./raw.js', './wasm.js', '../../wasm/zlib/zlib.wasm']);
  const tag = `deflate chunk level ${s.level} window ${s.windowBits} memLevel ${s.memLevel} code ${code}`;
  return {
    store,
    key: (job) =>
      CompressedCache.key([
        `${tag} last ${job.last} dictionary ${job.dictionary ? 1 : 0}`,
        job.dictionary ?? '',
        job.data,
      ]),
    encode: (bytes) => bytes,
    decode: (payload) => payload,
  };
}

export function startDeflatePool(settings: DeflateSettings, o: PoolOptions): DeflatePool {
  checkSettings(settings);
  return new OrderedPool({
    name: 'deflate',
    script: 'deflate/worker.js',
    from: import.meta.url,
    data: settings,
    workers: o.workers,
    inline: (job) => deflateChunk(job.data, settings, job.last, job.dictionary),
    inlineFirst: o.inlineFirst ?? INLINE_FIRST,
    jobBytes: (job) => job.data.length,
    cache: o.cache && chunkCache(o.cache, settings),
  });
}
