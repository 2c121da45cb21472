// The block compressors: zstd (src/zstd.ts, the default), gzip (pako, zlib format) and
// lz4 (./lz4.ts). One call compresses one block into one zstd frame / zlib stream / raw
// LZ4 block, as squashfs-tools writes them (zstd_wrapper.c: ZSTD_compressCCtx;
// gzip_wrapper.c: deflateInit2 with window 15, memLevel 8, the default strategy;
// lz4_wrapper.c: LZ4_compress_default).
//
// Rule shared by data and metadata blocks (squashfs-tools-ng doc/format.adoc, "Packing
// File Data" and "Packing Metadata"): a block is stored compressed only when that makes
// it smaller; otherwise raw, and the reader is told so by a flag bit.
import { deflate } from 'pako';
import { loadZstd } from '../zstd.js';
import { lz4CompressBlock } from './lz4.js';

export type CompressorName = 'zstd' | 'gzip' | 'lz4';

export interface Codec {
  name: CompressorName;
  level: number;
}

/**
 * Superblock compressor id (format.adoc, "The Superblock"), levels, squashfs-tools'
 * default; lz4 has no levels in squashfs (only a high-compression flag, not written here).
 */
export const COMPRESSORS: Record<CompressorName, { id: number; max: number; defaultLevel: number }> = {
  gzip: { id: 1, max: 9, defaultLevel: 9 },
  lz4: { id: 5, max: 1, defaultLevel: 1 },
  zstd: { id: 6, max: 22, defaultLevel: 15 },
};

/** Compresses a block; null when the result would not be smaller (store it raw). */
export type BlockCompressor = (block: Uint8Array) => Uint8Array | null;

export function checkCodec(c: Codec): void {
  const spec = COMPRESSORS[c.name];
  if (!spec) throw new Error(`squashfs: compressor ${c.name}: use zstd, gzip or lz4`);
  if (c.name === 'lz4' && c.level !== 1) throw new Error(`squashfs: lz4 level ${c.level}: lz4 has no levels (use 1)`);
  if (!Number.isInteger(c.level) || c.level < 1 || c.level > spec.max) throw new Error(`squashfs: ${c.name} level ${c.level}: use 1 to ${spec.max}`);
}

/**
 * The compressor options block's payload. zstd and gzip: only for a level other than the
 * default (both C tools); zstd a u32 level; gzip a u32 level, u16 window size (15), u16
 * strategies (0). lz4: always (lz4_wrapper.c, so that a later stream format can be told
 * apart), u32 version 1 (LZ4_LEGACY, the one the kernel reads) and u32 flags 0 (no HC).
 */
export function compressorOptions(c: Codec): Buffer | undefined {
  if (c.name === 'lz4') return Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  if (c.level === COMPRESSORS[c.name].defaultLevel) return undefined;
  const b = Buffer.alloc(c.name === 'gzip' ? 8 : 4);
  b.writeUInt32LE(c.level, 0);
  if (c.name === 'gzip') b.writeUInt16LE(15, 4);
  return b;
}

export async function loadCompressor(c: Codec): Promise<BlockCompressor> {
  checkCodec(c);
  const smaller = (block: Uint8Array, out: Uint8Array) => (out.length < block.length ? out : null);
  if (c.name === 'gzip') {
    const level = c.level as 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
    return (block) => smaller(block, deflate(block, { level, windowBits: 15, memLevel: 8 }));
  }
  if (c.name === 'lz4') return (block) => smaller(block, lz4CompressBlock(block));
  const z = await loadZstd();
  return (block) => smaller(block, z.compress(block, c.level));
}
