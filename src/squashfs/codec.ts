// The block compressors: zstd (src/zstd.ts, the default), gzip (pako, zlib format) and
// lz4 (./lz4.ts). One call compresses one block into one zstd frame / zlib stream / raw
// LZ4 block, as squashfs-tools writes them (zstd_wrapper.c: ZSTD_compressCCtx;
// gzip_wrapper.c: deflateInit2 with window 15, memLevel 8, the default strategy;
// lz4_wrapper.c: LZ4_compress_default).
//
// Rule shared by data and metadata blocks (squashfs-tools-ng doc/format.adoc, "Packing
// File Data" and "Packing Metadata"): a block is stored compressed only when that makes
// it smaller; otherwise raw, and the reader is told so by a flag bit.
import { zstdBlockCompressor } from '../zstd.js';
import { GZIP_OPTIONS, LZ4_OPTIONS, LZ4LEGACY, SQFS_COMP, ZSTD_OPTIONS } from './format.js';
import { COMPRESSOR_LEVELS, type CompressorName } from './limits.js';
import { lz4CompressBlock } from './lz4.js';

export type { CompressorName } from './limits.js';

export interface Codec {
  name: CompressorName;
  level: number;
}

/** Superblock compressor id (format.ts SQFS_COMP) and levels (limits.ts). */
export const COMPRESSORS: Record<CompressorName, { id: number; max: number; defaultLevel: number }> = {
  gzip: { id: SQFS_COMP.gzip, ...COMPRESSOR_LEVELS.gzip },
  lz4: { id: SQFS_COMP.lz4, ...COMPRESSOR_LEVELS.lz4 },
  zstd: { id: SQFS_COMP.zstd, ...COMPRESSOR_LEVELS.zstd },
};

/** Compresses a block; null when the result would not be smaller (store it raw). */
export type BlockCompressor = (block: Uint8Array) => Uint8Array | null;

export function checkCodec(c: Codec): void {
  const spec = COMPRESSORS[c.name];
  if (!spec) throw new Error(`squashfs: compressor ${c.name}: use zstd, gzip or lz4`);
  if (c.name === 'lz4' && c.level !== 1) throw new Error(`squashfs: lz4 level ${c.level}: lz4 has no levels (use 1)`);
  if (!Number.isInteger(c.level) || c.level < 1 || c.level > spec.max)
    throw new Error(`squashfs: ${c.name} level ${c.level}: use 1 to ${spec.max}`);
}

/**
 * The compressor options block's payload. zstd and gzip: only for a level other than the
 * default (both C tools); zstd a u32 level; gzip a u32 level, u16 window size (15), u16
 * strategies (0). lz4: always (lz4_wrapper.c, so that a later stream format can be told
 * apart), u32 version 1 (LZ4_LEGACY, the one the kernel reads) and u32 flags 0 (no HC).
 */
export function compressorOptions(c: Codec): Buffer | undefined {
  if (c.name === 'lz4') return LZ4_OPTIONS.encode({ version: LZ4LEGACY, flags: 0 });
  if (c.level === COMPRESSORS[c.name].defaultLevel) return undefined;
  if (c.name === 'gzip') return GZIP_OPTIONS.encode({ level: c.level, window: GZIP_WINDOW, strategies: 0 });
  return ZSTD_OPTIONS.encode({ level: c.level });
}

/** zlib's window bits, as gzip_wrapper.c uses and its options record */
const GZIP_WINDOW = 15;

/**
 * `transient`: the compressed bytes may be a view into the compressor's own memory,
 * valid until its next call (for a caller that copies them at once: compressInPlace).
 */
export async function loadCompressor(c: Codec, transient = false): Promise<BlockCompressor> {
  checkCodec(c);
  const smaller = (block: Uint8Array, out: Uint8Array) => (out.length < block.length ? out : null);
  if (c.name === 'gzip') {
    const level = c.level as 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
    const { deflate } = await import('pako'); // loaded only for gzip (not by an lz4 or zstd worker)
    return (block) => smaller(block, deflate(block, { level, windowBits: GZIP_WINDOW, memLevel: 8 }));
  }
  if (c.name === 'lz4') return (block) => smaller(block, lz4CompressBlock(block, transient));
  const zstd = zstdBlockCompressor(c.level);
  return (block) => smaller(block, zstd(block));
}
