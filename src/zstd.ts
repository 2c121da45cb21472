// squashfs's zstd blocks: one frame per block at the given level, as squashfs-tools'
// zstd_wrapper.c writes them (ZSTD_compressCCtx), through our WebAssembly build of
// zstd 1.5.4 (./zstd-wasm.ts). One context serves every block of a compressor:
// ZSTD_compressCCtx resets it to the level each call, so the bytes are ZSTD_compress's,
// without allocating and clearing a level-15 context per block (which
// @foxglove/wasm-zstd's ZSTD_compress did: see the README's dependency section).
import { checkZstd, instantiateZstd } from './zstd-wasm.js';

export type ZstdBlockCompressor = (block: Uint8Array) => Uint8Array;

/** A compressor of independent blocks; each result is a copy the caller owns. */
export function zstdBlockCompressor(level: number): ZstdBlockCompressor {
  const z = instantiateZstd();
  const cctx = z.ZSTD_createCCtx();
  if (!cctx) throw new Error('zstd: out of WebAssembly memory for a context');
  let capacity = 0;
  let src = 0;
  let dst = 0;
  let dstCapacity = 0;
  /** Room for a block of `size` bytes and its worst-case frame. */
  function reserve(size: number): void {
    if (size <= capacity) return;
    z.fp_free(src);
    z.fp_free(dst);
    capacity = size;
    dstCapacity = z.ZSTD_compressBound(size) >>> 0;
    src = z.fp_malloc(capacity);
    dst = z.fp_malloc(dstCapacity);
    if (!src || !dst) throw new Error(`zstd: out of WebAssembly memory for a ${size}-byte block`);
  }
  return (block) => {
    reserve(block.length);
    new Uint8Array(z.memory.buffer, src, block.length).set(block);
    const size = checkZstd(z, z.ZSTD_compressCCtx(cctx, dst, dstCapacity, src, block.length, level));
    return new Uint8Array(z.memory.buffer, dst, size).slice();
  };
}
