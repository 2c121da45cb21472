// Why squashfs's zstd is our own WebAssembly build (src/zstd.ts) and not zstd-codec (the
// package the design named): zstd-codec aborts, out of WebAssembly memory, compressing a
// 1 MiB block at the levels squashfs uses (15 is its default); ours compresses it at every
// level, and its frames are byte for byte those of Debian's zstd 1.5.4 CLI on the same
// block (levels 1–4 and 11–22; at 5–10 native zstd takes its SSE2 row match finder,
// which WebAssembly lacks: README, "zstd: why WebAssembly and not Node's own zstd").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { zstdBlockCompressor } from '../src/zstd.js';

const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 7919) % 251;

/** 128 KiB (squashfs's default block) of text and binary noise from an LCG: no randomness. */
function mixed(): Buffer {
  const b = Buffer.alloc(128 << 10);
  let x = 7;
  for (let i = 0; i < b.length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (x % 5 === 0) b[i++] = x >>> 24;
    else i += b.write(`k${(x >>> 9) % 3000} `, i, 'latin1');
  }
  return b;
}

describe('zstd codec choice', () => {
  it('zstd-codec aborts at level 15 on a 1 MiB block', async () => {
    const { default: zc } = await import('zstd-codec');
    const simple = await new Promise<{ compress(b: Uint8Array, level: number): Uint8Array }>((resolve) =>
      zc.ZstdCodec.run((z: { Simple: new () => never }) => resolve(new z.Simple())),
    );
    expect(() => simple.compress(block, 15)).toThrow(/abort\(OOM\)/);
  });

  it('ours compresses it at levels 1, 15 and 22, and zstd -d gives it back', () => {
    for (const level of [1, 15, 22]) {
      const out = zstdBlockCompressor(level)(block);
      expect(out.length).toBeLessThan(block.length / 10);
      expect(execFileSync('zstd', ['-dc'], { input: out, maxBuffer: 1 << 22 }).equals(block)).toBe(true);
    }
  });

  it('one reused context gives each block the frame Debian zstd 1.5.4 writes for it alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-zstd-'));
    const blocks = [mixed(), block.subarray(0, 4096), mixed().subarray(1000, 70_000), block];
    for (const level of [1, 3, 15, 19, 22]) {
      const zstd = zstdBlockCompressor(level);
      blocks.forEach((b, i) => {
        const file = join(dir, `b${i}`);
        writeFileSync(file, b);
        const native = execFileSync('zstd', [`-${level}`, '--ultra', '--no-check', '-q', '-c', file], {
          maxBuffer: 1 << 22,
        });
        expect(Buffer.from(zstd(b)).equals(native), `level ${level}, block ${i}`).toBe(true);
      });
    }
  });
});
