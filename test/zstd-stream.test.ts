// zstd as one streamed frame (src/zstd-stream.ts, wasm/zstd/): the committed WebAssembly
// is what wasm/zstd/build.sh makes from the pinned source; its frames are single, the
// same bytes however the input is cut, and read by Debian's zstd; a zstd initramfs of
// hundreds of MiB is built in bounded memory (peak RSS by /usr/bin/time -v) and read by
// zstd, GNU cpio and bsdtar. The kernel boots one: test/boot.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE, CLI, project } from './helpers/cli.js';
import { zstdFrameWriter, zstdStreamVersion } from '../src/zstd-stream.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Deterministic text-and-binary input of `size` bytes (an LCG: no randomness). */
function sample(size: number): Buffer {
  const b = Buffer.alloc(size);
  let x = 12345;
  for (let i = 0; i < size;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const word = `w${(x >>> 8) % 5000} `;
    if (x % 7 === 0)
      b[i++] = x >>> 24; // some binary noise
    else i += b.write(word, i, 'latin1');
  }
  return b;
}

function compress(input: Buffer, cut: number, level = 3): Buffer {
  const parts: Uint8Array[] = [];
  const z = zstdFrameWriter(level, (c) => parts.push(c));
  for (let at = 0; at < input.length; at += cut) z.write(input.subarray(at, at + cut));
  z.end();
  return Buffer.concat(parts);
}

/** `zstd -lv`'s frame count. */
function frames(file: string): number {
  return Number(
    /Zstandard Frames: (\d+)/.exec(
      execFileSync('zstd', ['-lv', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    )?.[1],
  );
}

describe('zstd stream (WebAssembly zstd 1.5.4)', () => {
  it('the committed .wasm is byte for byte what wasm/zstd/build.sh makes from the pinned source', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fp-wasm-')), 'zstd.wasm');
    execFileSync('bash', ['wasm/zstd/build.sh', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(sha256(readFileSync(out))).toBe(sha256(readFileSync('wasm/zstd/zstd.wasm')));
    expect(zstdStreamVersion()).toBe(10504);
  }, 600_000);

  it('writes one frame, the same bytes however the input is cut, that zstd -t and zstd -dc read', () => {
    const input = sample(5 << 20); // past the 2 MiB window and many 128 KiB blocks
    const whole = compress(input, input.length);
    for (const cut of [1000, 65_537, 1 << 20]) expect(sha256(compress(input, cut))).toBe(sha256(whole));
    // the bytes themselves, pinned: the same on every platform and Node version
    expect(sha256(whole)).toBe('88375edf675477b9cff0899a1e0cc12ac82d4a465e7aacd77a36817f80d74fb6');
    const file = join(mkdtempSync(join(tmpdir(), 'fp-zst-')), 'x.zst');
    writeFileSync(file, whole);
    expect(frames(file)).toBe(1);
    execFileSync('zstd', ['-tq', file]);
    expect(execFileSync('zstd', ['-dc', file], { maxBuffer: 1 << 24 }).equals(input)).toBe(true);
    expect(execFileSync('zstd', ['-lv', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toMatch(
      /Check: XXH64/,
    );
  });

  it('an empty input is one empty frame', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fp-zst-')), 'empty.zst');
    writeFileSync(file, compress(Buffer.alloc(0), 1));
    expect(execFileSync('zstd', ['-dc', file]).length).toBe(0);
  });
});

describe('a large zstd initramfs', () => {
  it('builds 320 MiB in bounded memory as one frame that zstd, GNU cpio and bsdtar read', () => {
    const MIB = 1 << 20;
    const dir = project({
      'fledge.toml':
        `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "/bin/busybox"\n` +
        `busybox_sha256 = "${sha256(readFileSync('/bin/busybox'))}"\n\n[init]\nnone = true\n\n[mappings]\n"./init" = "/init"\n"./big" = "/big"\n`,
      'init*': '#!/bin/sh\n',
    });
    // 320 MiB: each MiB the sample with its number in front, so no two are the same
    const block = sample(MIB);
    const fd = openSync(join(dir, 'big'), 'w');
    for (let i = 0; i < 320; i++) {
      block.write(`${i}`.padStart(8, '0'), 0, 'latin1');
      writeSync(fd, block);
    }
    closeSync(fd);
    const r = spawnSync(
      '/usr/bin/time',
      ['-v', process.execPath, CLI, 'build', '--quiet', '--compression', 'zstd', '-o', 'big.cpio.zst'],
      {
        cwd: dir,
        env: { ...process.env, XDG_CACHE_HOME: CACHE },
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const rssMiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]) / 1024;
    // the whole-frame compressor held the cpio twice and zstd's copy: over 1 GiB here
    expect(rssMiB).toBeGreaterThan(0);
    expect(rssMiB).toBeLessThan(400);
    const out = join(dir, 'big.cpio.zst');
    expect(frames(out)).toBe(1);
    execFileSync('zstd', ['-tq', out]);
    const cpio = execFileSync('sh', ['-c', 'zstd -dc big.cpio.zst | cpio -it --quiet'], { cwd: dir, encoding: 'utf8' });
    expect(cpio.split('\n')).toContain('big');
    const bsdtar = execFileSync('sh', ['-c', 'zstd -dc big.cpio.zst | bsdtar -tvf -'], { cwd: dir, encoding: 'utf8' });
    expect(bsdtar).toMatch(new RegExp(`\\s${320 * MIB}\\s.*\\bbig\\n`));
    const big = execFileSync('sh', ['-c', 'zstd -dc big.cpio.zst | cpio -i --quiet --to-stdout big | sha256sum'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(big.split(' ')[0]).toBe(execFileSync('sha256sum', [join(dir, 'big')], { encoding: 'utf8' }).split(' ')[0]);
    console.log(`320 MiB zstd initramfs: peak RSS ${rssMiB.toFixed(0)} MiB`);
  }, 600_000);
});
