// The squashfs compression pool: blocks (data and fragment blocks) compressed on worker
// threads (src/worker-pool.ts), results taken in submission order.
import { OrderedPool } from '../worker-pool.js';
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

/** workers = 0 compresses on the calling thread. */
export async function startCompressPool(codec: Codec, workers: number): Promise<CompressPool> {
  const compress = await loadCompressor(codec);
  return new OrderedPool({
    name: 'squashfs',
    script: 'squashfs/worker.js',
    from: import.meta.url,
    data: codec,
    workers,
    inline: (block) => compressBlock(compress, block),
  });
}
