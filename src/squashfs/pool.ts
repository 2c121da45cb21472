// The squashfs compression pool: blocks (data and fragment blocks) compressed on worker
// threads (src/worker-pool.ts), results taken in submission order, and kept by content
// in a CompressedCache when one is given.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { codeVersion, CompressedCache } from '../compressed-cache.js';
import { OrderedPool, type PoolCache } from '../worker-pool.js';
import { type BlockCompressor, type Codec, loadCompressor } from './codec.js';

/** A block as stored: compressed, or the block itself (raw) when compression does not shrink it. */
export interface Compressed {
  bytes: Uint8Array;
  raw: boolean;
}

export type CompressPool = OrderedPool<Uint8Array, Compressed>;

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
function blockCache(store: CompressedCache, codec: Codec, blockSize: number): PoolCache<Uint8Array, Compressed> {
  const tag = `squashfs block ${codec.name} level ${codec.level} block ${blockSize} code ${codecVersion()}`;
  return {
    store,
    key: (block) => CompressedCache.key([tag, block]),
    encode: (c) => (c.raw ? Uint8Array.of(1) : Buffer.concat([Uint8Array.of(0), c.bytes])),
    decode: (payload, block) => {
      if (payload[0] === 1 && payload.length === 1) return { bytes: block, raw: true };
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
  return (block) => {
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
 * message between threads costs, so its blocks travel 4 at a time; zstd and gzip take
 * tens of milliseconds a block, one at a time keeps the workers evenly busy.
 */
export function blocksPerMessage(codec: Codec): number {
  return codec.name === 'lz4' ? 4 : 1;
}

/** workers = 0 compresses on the calling thread. */
export async function startCompressPool(codec: Codec, o: CompressPoolOptions): Promise<CompressPool> {
  const compress = await loadCompressor(codec);
  return new OrderedPool({
    name: 'squashfs',
    script: 'squashfs/worker.js',
    from: import.meta.url,
    data: codec,
    workers: o.workers,
    inline: (block) => compressInPlace(compress, block),
    cache: o.cache && blockCache(o.cache, codec, o.blockSize),
    lend: true,
    batch: blocksPerMessage(codec),
  });
}
