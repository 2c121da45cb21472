// CRC-32 (ISO-HDLC, the gzip and zip one: reflected polynomial 0xEDB88320, RFC 1952
// section 8). zlib.crc32 where Node has it (20.15+, 22.2+), else a table-driven loop:
// the same numbers either way, a CRC being defined by its polynomial.
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value: number) => number;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven CRC-32, for Node versions without zlib.crc32. */
export function crc32Table(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const native = (zlib as { crc32?: Crc32 }).crc32;

/** CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it). */
export function crc32(data: Uint8Array, value = 0): number {
  return native ? native(data, value) : crc32Table(data, value);
}
