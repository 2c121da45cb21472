// CRC-32 (gzip's): the table fallback against zlib's crc32 (node:zlib) and the published
// check value; moved out of test/deflate.test.ts, whose other tests run GNU gzip and cpio.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table } from '../../src/deflate/crc32.js';

/** Compressible text and incompressible noise, deterministic (as test/deflate.test.ts's). */
function mixed(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0, i = 0; at < size; i++) {
    const part =
      i % 3 === 0
        ? createHash('sha512').update(String(i)).digest()
        : Buffer.from(`line ${i % 997}: the quick brown fox ${'z'.repeat(i % 40)}\n`);
    at += part.copy(out, at);
  }
  return out;
}

describe('crc32', () => {
  it('the table fallback gives zlib.crc32 numbers', () => {
    const d = mixed(100_000);
    expect(crc32Table(d)).toBe(crc32(d));
    expect(crc32Table(d.subarray(5), crc32Table(d.subarray(0, 5)))).toBe(crc32(d));
    expect(crc32Table(Buffer.from('123456789'))).toBe(0xcbf43926); // the check value of CRC-32/ISO-HDLC
  });
});
