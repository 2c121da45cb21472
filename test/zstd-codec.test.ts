// Why zstd comes from @foxglove/wasm-zstd and not zstd-codec (the package the design
// named): zstd-codec aborts, out of WebAssembly memory, compressing a 1 MiB block at the
// levels squashfs uses (15 is its default); ours compresses it at every level, and
// Debian's zstd decodes the result.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadZstd } from '../src/zstd.js';

const block = Buffer.alloc(1 << 20);
for (let i = 0; i < block.length; i++) block[i] = (i * 7919) % 251;

describe('zstd codec choice', () => {
  it('zstd-codec aborts at level 15 on a 1 MiB block', async () => {
    const { default: zc } = await import('zstd-codec');
    const simple = await new Promise<{ compress(b: Uint8Array, level: number): Uint8Array }>((resolve) =>
      zc.ZstdCodec.run((z: { Simple: new () => never }) => resolve(new z.Simple())),
    );
    expect(() => simple.compress(block, 15)).toThrow(/abort\(OOM\)/);
  });

  it('@foxglove/wasm-zstd compresses it at levels 1, 15 and 22, and zstd -d gives it back', async () => {
    const zstd = await loadZstd();
    for (const level of [1, 15, 22]) {
      const out = zstd.compress(block, level);
      expect(out.length).toBeLessThan(block.length / 10);
      expect(execFileSync('zstd', ['-dc'], { input: out, maxBuffer: 1 << 22 }).equals(block)).toBe(true);
    }
  });
});
