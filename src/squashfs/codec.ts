// The block compressor: zstd (src/zstd.ts), one frame per block, the frame squashfs-tools
// writes per block (zstd_wrapper.c uses ZSTD_compressCCtx: content size in the header,
// no checksum).
//
// Rule shared by data and metadata blocks (squashfs-tools-ng doc/format.adoc, "Packing
// File Data" and "Packing Metadata"): a block is stored compressed only when that makes
// it smaller; otherwise raw, and the reader is told so by a flag bit.
import { loadZstd } from '../zstd.js';

/** Superblock compressor id (format.adoc, "The Superblock"). */
export const ZSTD_ID = 6;
/** zstd's default level in both squashfs-tools and squashfs-tools-ng. */
export const ZSTD_DEFAULT_LEVEL = 15;

/** Compresses a block; null when the result would not be smaller (store it raw). */
export type BlockCompressor = (block: Uint8Array) => Uint8Array | null;

export function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new Error(`squashfs: zstd level ${level}: use 1 to 22`);
}

export async function loadCompressor(level: number): Promise<BlockCompressor> {
  checkLevel(level);
  const z = await loadZstd();
  return (block) => {
    const out = z.compress(block, level);
    return out.length < block.length ? out : null;
  };
}
