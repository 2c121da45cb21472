// The block compressor: zstd through @foxglove/wasm-zstd (zstd compiled to WebAssembly
// with -O3, so the same bytes on every machine and Node version; the version is pinned
// exactly in package.json because zstd's output may change between zstd releases). Each
// call is one ZSTD_compress() frame, the frame squashfs-tools writes per block
// (zstd_wrapper.c uses ZSTD_compressCCtx: content size in the header, no checksum).
//
// Rule shared by data and metadata blocks (squashfs-tools-ng doc/format.adoc, "Packing
// File Data" and "Packing Metadata"): a block is stored compressed only when that makes
// it smaller; otherwise raw, and the reader is told so by a flag bit.
import { createRequire } from 'node:module';

/** Superblock compressor id (format.adoc, "The Superblock"). */
export const ZSTD_ID = 6;
/** zstd's default level in both squashfs-tools and squashfs-tools-ng. */
export const ZSTD_DEFAULT_LEVEL = 15;

interface ZstdWasm {
  isLoaded: Promise<boolean>;
  compress(buf: Uint8Array, level: number): Uint8Array;
}

let loaded: Promise<ZstdWasm> | undefined;

function zstd(): Promise<ZstdWasm> {
  return (loaded ??= (async () => {
    // a CommonJS package: its named exports come through require()
    const m = createRequire(import.meta.url)('@foxglove/wasm-zstd') as ZstdWasm;
    await m.isLoaded;
    return m;
  })());
}

/** Compresses a block; null when the result would not be smaller (store it raw). */
export type BlockCompressor = (block: Uint8Array) => Uint8Array | null;

export function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new Error(`squashfs: zstd level ${level}: use 1 to 22`);
}

export async function loadCompressor(level: number): Promise<BlockCompressor> {
  checkLevel(level);
  const z = await zstd();
  return (block) => {
    const out = z.compress(block, level);
    return out.length < block.length ? out : null;
  };
}
