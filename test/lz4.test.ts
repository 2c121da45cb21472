// The LZ4 block encoder (liblz4 1.9.4 in WebAssembly, wasm/lz4): the committed lz4.wasm is
// what wasm/lz4/build.sh makes from the pinned source; each block is decoded by the real
// lz4 (Debian's lz4 CLI, liblz4's LZ4_decompress_safe) and is byte for byte the block
// `lz4 -l -1` writes (its legacy frame: magic 0x184C2102, then u32 LE compressed size +
// one LZ4_compress_fast(acceleration 1) block per 8 MiB, LZ4_compress_default's bytes:
// what mksquashfs's lz4_wrapper.c writes), which carries no checksum of ours to get wrong.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lz4CompressBlock } from '../src/squashfs/lz4.js';

function lz4Decode(block: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184c2102, 0);
  head.writeUInt32LE(block.length, 4);
  return execFileSync('lz4', ['-d', '-c', '-q'], { input: Buffer.concat([head, block]), maxBuffer: 1 << 26 });
}

/** The block Debian's lz4 CLI (native liblz4) writes for `data` (under 8 MiB): its legacy frame without the 8-byte head. */
function lz4Native(data: Uint8Array): Buffer {
  return execFileSync('lz4', ['-l', '-1', '-c', '-q'], { input: data, maxBuffer: 1 << 26 }).subarray(8);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

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
  it('wasm/lz4/build.sh rebuilds the committed lz4.wasm byte for byte', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fp-wasm-')), 'lz4.wasm');
    execFileSync('bash', ['wasm/lz4/build.sh', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(sha256(readFileSync(out))).toBe(sha256(readFileSync('wasm/lz4/lz4.wasm')));
  }, 600_000);

  for (const [name, data] of Object.entries(cases)) {
    it(`is decoded by liblz4 to the same bytes, and is the block native liblz4 writes: ${name}`, () => {
      const block = lz4CompressBlock(data);
      expect(lz4Decode(block).equals(data)).toBe(true);
      expect(block.length).toBeLessThanOrEqual(data.length + Math.floor(data.length / 255) + 16);
      expect(Buffer.from(block).equals(lz4Native(data))).toBe(true);
    });
  }

  it('gives native liblz4 bytes on 4 KiB to 1 MiB blocks of a binary and of text (both table types: under and over 64 KiB)', () => {
    const binary = readFileSync(process.execPath).subarray(0, 3 << 20);
    let blocks = 0;
    for (const data of [binary, text])
      for (const size of [4096, 65_546, 65_547, 128 << 10, 1 << 20])
        for (let at = 0; at < data.length && at < 2 << 20; at += size * 3) {
          const block = data.subarray(at, at + size);
          expect(Buffer.from(lz4CompressBlock(block)).equals(lz4Native(block))).toBe(true);
          blocks++;
        }
    expect(blocks).toBeGreaterThan(20);
  });

  it('refuses a block over 1 MiB with one clear error', () => {
    expect(() => lz4CompressBlock(new Uint8Array((1 << 20) + 1))).toThrow(/over 1048576/);
  });

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
