import { describe, expect, it } from 'vitest';
import { defineStruct } from '../src/struct.js';

const S = defineStruct('demo', 16, {
  a: [0, 'le16'],
  b: [2, 'be32'],
  c: [6, 'bytes', 2],
  d: [8, 'le64'],
});

describe('struct field tables', () => {
  it('encodes by field name at the declared offsets and decodes back', () => {
    const buf = S.encode({ a: 0x0102, b: 0x0a0b0c0d, c: Buffer.from('xy'), d: 2n ** 63n + 5n });
    expect(buf.toString('hex')).toBe('0201' + '0a0b0c0d' + '7879' + '0500000000000080');
    const r = S.decode(buf);
    expect(r.a).toBe(0x0102);
    expect(r.b).toBe(0x0a0b0c0d);
    expect(r.c.toString('latin1')).toBe('xy');
    expect(r.d).toBe(2n ** 63n + 5n);
  });
  it('writes into a larger buffer at an offset', () => {
    const big = Buffer.alloc(40);
    S.encode({ a: 7 }, big, 20);
    expect(big[20]).toBe(7);
    expect(S.decode(big, 20).a).toBe(7);
  });
  it('rejects unknown fields, out-of-range values and oversized bytes', () => {
    expect(() => S.encode({ e: 1 } as never)).toThrow('demo: no field e');
    expect(() => S.encode({ a: 65536 })).toThrow('demo.a: 65536 is outside 0..2^16-1');
    expect(() => S.encode({ b: -1 })).toThrow('demo.b');
    expect(() => S.encode({ a: 1.5 })).toThrow('not an integer');
    expect(() => S.encode({ c: Buffer.alloc(3) })).toThrow('3 bytes do not fit in 2');
  });
  it('rejects a table whose fields overlap or leave the structure', () => {
    expect(() => defineStruct('x', 4, { a: [0, 'le32'], b: [2, 'le16'] })).toThrow('x.b: overlaps x.a');
    expect(() => defineStruct('x', 4, { a: [2, 'le32'] })).toThrow('x.a: outside the 4-byte structure');
  });
  it('encodes and decodes arrays of integers, element by element, and rejects too many', () => {
    const A = defineStruct('arr', 12, { seed: [0, 'le32', 2], hi: [8, 'be16', 2] });
    const buf = A.encode({ seed: [1, 0x01020304], hi: [0xabcd] });
    expect(buf.toString('hex')).toBe('01000000' + '04030201' + 'abcd' + '0000');
    expect(A.decode(buf)).toEqual({ seed: [1, 0x01020304], hi: [0xabcd, 0] });
    expect(() => A.encode({ seed: [1, 2, 3] })).toThrow('arr.seed: 3 elements do not fit in 2');
    expect(() => A.encode({ seed: [1, -1] })).toThrow('arr.seed[1]: -1 is outside 0..2^32-1');
    expect(() => A.encode({ seed: 5 as never })).toThrow('arr.seed: an array of 2 numbers expected');
    expect(() => defineStruct('x', 8, { a: [0, 'le32', 2], b: [4, 'u8'] })).toThrow('x.b: overlaps x.a');
    expect(() => defineStruct('x', 8, { a: [2, 'le16', 4] })).toThrow('x.a: outside the 8-byte structure');
  });
});
