// The LZ4 block encoder, decoded by the real lz4 (Debian's lz4 CLI, liblz4's
// LZ4_decompress_safe): each block is wrapped in the legacy frame (magic 0x184C2102,
// then u32 LE compressed size + block), which carries no checksum of ours to get wrong.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { lz4CompressBlock } from '../src/squashfs/lz4.js';

function lz4Decode(block: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184c2102, 0);
  head.writeUInt32LE(block.length, 4);
  return execFileSync('lz4', ['-d', '-c', '-q'], { input: Buffer.concat([head, block]), maxBuffer: 1 << 26 });
}

const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of a text that repeats itself\n`).join(''));

const cases: Record<string, Buffer> = {
  'one byte': Buffer.from('x'),
  '12 bytes (no match allowed)': Buffer.from('abcdabcdabcd'),
  '13 bytes of one value': Buffer.alloc(13, 7),
  '14 bytes, a match near the end': Buffer.from('abcdefabcdefab'),
  '1 MiB of zeros (long match lengths)': Buffer.alloc(1 << 20),
  '128 KiB random (literals only)': randomBytes(128 << 10),
  'text, 1 MiB': text.subarray(0, 1 << 20),
  'random runs then repeats (long literal runs, far offsets)': Buffer.concat([
    randomBytes(70000),
    randomBytes(300),
    Buffer.alloc(5000, 1),
    randomBytes(65535),
  ]),
  'a repeat exactly 65535 back, one 65536 back': (() => {
    const r = randomBytes(40);
    return Buffer.concat([r, randomBytes(65535 - 40), r, randomBytes(1), r, randomBytes(100)]);
  })(),
};

describe('lz4 block encoder', () => {
  for (const [name, data] of Object.entries(cases)) {
    it(`is decoded by liblz4 to the same bytes: ${name}`, () => {
      const block = lz4CompressBlock(data);
      expect(lz4Decode(block).equals(data)).toBe(true);
      expect(block.length).toBeLessThanOrEqual(data.length + Math.floor(data.length / 255) + 16);
    });
  }

  it('compresses what repeats, and gives the same bytes every time', () => {
    const a = lz4CompressBlock(text);
    expect(a.length).toBeLessThan(text.length / 5);
    expect(Buffer.from(lz4CompressBlock(text)).equals(Buffer.from(a))).toBe(true);
    expect(lz4CompressBlock(Buffer.alloc(1 << 20)).length).toBeLessThan(5000);
  });

  it('writes an empty block as one zero token, as liblz4 does', () => {
    expect([...lz4CompressBlock(new Uint8Array(0))]).toEqual([0]);
  });
});
