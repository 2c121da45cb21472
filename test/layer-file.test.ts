// Layer blobs become verified plain tars in the cache, whatever their compression:
// compressed here by the real gzip and zstd programs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Region } from '../src/oci/sources/bundle.js';
import { sniffCompression, uncompressedLayer } from '../src/oci/layer/uncompress.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-layer-'));
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
let tar: Buffer;
let saved: string | undefined;

beforeAll(() => {
  saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  const src = join(scratch, 'src');
  mkdirSync(src);
  for (let i = 0; i < 50; i++) writeFileSync(join(src, `f${i}`), Buffer.alloc(10000 + i, i));
  tar = execFileSync('tar', ['--format=pax', '-cf', '-', '-C', src, '.'], { maxBuffer: 1 << 26 });
});
afterAll(() => {
  if (saved === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = saved;
});

function blob(name: string, data: Buffer): Region {
  const path = join(scratch, name);
  writeFileSync(path, Buffer.concat([Buffer.from('lead'), data, Buffer.from('tail')]));
  return { file: path, from: 4, length: data.length };
}

describe('uncompressed layers', () => {
  it('tells compressions apart by magic bytes', () => {
    expect(sniffCompression(execFileSync('gzip', ['-nc'], { input: 'x' }))).toBe('gzip');
    expect(sniffCompression(execFileSync('zstd', ['-qc'], { input: 'x' }))).toBe('zstd');
    expect(sniffCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(sniffCompression(tar)).toBe('none');
  });

  it('decompresses gzip (several members), zstd and plain tar to the diff_id', async () => {
    const half = tar.length >> 1;
    const multi = Buffer.concat([
      execFileSync('gzip', ['-nc'], { input: tar.subarray(0, half) }),
      execFileSync('gzip', ['-nc'], { input: tar.subarray(half) }),
    ]);
    const zst = execFileSync('zstd', ['-qc', '-19'], { input: tar, maxBuffer: 1 << 26 });
    for (const [name, data] of [
      ['multi.gz', multi],
      ['layer.zst', zst],
      ['layer.tar', tar],
    ] as const) {
      rmCache();
      const path = await uncompressedLayer(blob(name, data), sha(tar), name);
      expect(readFileSync(path).equals(tar)).toBe(true);
    }
  });

  it('refuses a layer whose content is not its diff_id, leaving nothing in the cache', async () => {
    rmCache();
    const wrong = sha(Buffer.from('other'));
    await expect(
      uncompressedLayer(blob('l.gz', execFileSync('gzip', ['-nc'], { input: tar })), wrong, 'layer 1 of x'),
    ).rejects.toThrow(
      /^layer 1 of x: uncompressed layer has sha256:[0-9a-f]{64}, but the image config's rootfs.diff_ids says sha256:/,
    );
    const corrupt = execFileSync('gzip', ['-nc'], { input: tar });
    corrupt[corrupt.length >> 1] ^= 0xff;
    await expect(uncompressedLayer(blob('c.gz', corrupt), sha(tar), 'layer 2')).rejects.toThrow(
      /^layer 2: cannot decompress \(gzip\)/,
    );
    const gz = execFileSync('gzip', ['-nc'], { input: tar });
    await expect(uncompressedLayer(blob('d.gz', gz), sha(tar), 'layer 3', sha(Buffer.from('x')))).rejects.toThrow(
      /^layer 3: blob has sha256:[0-9a-f]{64}, but the manifest says sha256:2d71/,
    );
    expect(readdirSync(join(scratch, 'cache/fledge-pure/layers/sha256'))).toEqual([]);
    expect(await uncompressedLayer(blob('e.gz', gz), sha(tar), 'layer 4', sha(gz))).toMatch(
      /layers\/sha256\/[0-9a-f]{64}$/,
    );
  });
});

function rmCache(): void {
  const dir = join(scratch, 'cache');
  if (existsSync(dir)) execFileSync('rm', ['-rf', dir]);
}
