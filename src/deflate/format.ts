// The gzip member around a raw deflate stream (RFC 1952 section 2.3): a 10-byte header,
// the deflate data (RFC 1951), an 8-byte trailer with the CRC-32 and the size of the
// uncompressed data modulo 2^32.
import { defineStruct } from '../struct.js';

/** RFC 1952 2.3: ID1 ID2 CM FLG MTIME XFL OS, no optional fields (FLG 0). */
export const GzipHeader = defineStruct('gzip header', 10, {
  id1: [0, 'u8'], // 0x1f
  id2: [1, 'u8'], // 0x8b
  cm: [2, 'u8'], // 8 = deflate
  flg: [3, 'u8'],
  mtime: [4, 'le32'],
  xfl: [8, 'u8'],
  os: [9, 'u8'],
});

/** RFC 1952 2.3.1: CRC32 of the uncompressed data, ISIZE = its size mod 2^32. */
export const GzipTrailer = defineStruct('gzip trailer', 8, {
  crc32: [0, 'le32'],
  isize: [4, 'le32'],
});

/**
 * The header pako (and zlib's deflate with a gzip wrapper) writes when given no header:
 * no name, mtime 0, OS 3 (unix, zlib's OS_CODE), XFL 2 for level 9, 4 for levels below 2,
 * else 0 (zlib deflate.c, the gzip wrapper in deflate()). So a parallel stream starts
 * with the bytes a single pako stream did.
 */
export function gzipHeader(level: number): Buffer {
  const xfl = level === 9 ? 2 : level < 2 ? 4 : 0;
  return GzipHeader.encode({ id1: 0x1f, id2: 0x8b, cm: 8, flg: 0, mtime: 0, xfl, os: 3 });
}

export function gzipTrailer(crc32: number, size: number): Buffer {
  return GzipTrailer.encode({ crc32, isize: size % 2 ** 32 });
}
