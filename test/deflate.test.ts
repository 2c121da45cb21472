// Parallel deflate (src/deflate): pigz's scheme on worker threads. Checked by GNU gzip
// (gzip -t, gzip -dc), GNU cpio and zlib's inflate; the bytes are the same for any number
// of workers and however the input is cut into writes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipStream } from '../src/compress.js';
import { writeNewc } from '../src/cpio/newc.js';
import { CHUNK, deflateEach, deflateParallel } from '../src/deflate/parallel.js';
import { writeInitramfs } from '../src/pipeline/write-initramfs.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode } from '../src/tree/tree.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-deflate-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Compressible text, incompressible noise and runs, deterministic, `size` bytes. */
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

/** gzip through `workers` threads (from the first chunk on, unless `inlineFirst` says otherwise). */
function gzip(data: Uint8Array, workers: number, writeSize = 7777, inlineFirst = 0): Buffer {
  const parts: Buffer[] = [];
  const s = gzipStream(6, (c) => parts.push(Buffer.from(c)), { workers, inlineFirst });
  for (let i = 0; i < data.length; i += writeSize) s.write(data.subarray(i, i + writeSize));
  s.end();
  return Buffer.concat(parts);
}

/** gzip -t, then gzip -dc: the bytes GNU gzip decompresses. */
function gunzip(gz: Buffer, name: string): Buffer {
  const file = join(scratch, name);
  writeFileSync(file, gz);
  execFileSync('gzip', ['-t', file]);
  return execFileSync('gzip', ['-dc', file], { maxBuffer: 1 << 30 });
}

describe('parallel gzip', () => {
  const data = mixed(5 * CHUNK + 12345);

  it('is one gzip member GNU gzip checks and decompresses, the same bytes for 0, 1, 2 and 4 workers', () => {
    const outputs = [0, 1, 2, 4].map((w) => gzip(data, w));
    expect(gunzip(outputs[0], 'a.gz').equals(data)).toBe(true);
    expect(new Set(outputs.map(sha)).size).toBe(1);
    // header as pako wrote it: deflate, no flags, mtime 0, XFL 0 (level 6), OS 3
    expect(outputs[0].subarray(0, 10).toString('hex')).toBe('1f8b0800000000000003');
  });

  it('gives the same bytes however the input is cut into writes', () => {
    expect(sha(gzip(data, 2, 1))).toBe(sha(gzip(data, 2, 3 * CHUNK + 1)));
  });

  it('gives the same bytes when the first chunks are compressed on this thread before the workers start', () => {
    expect(sha(gzip(data, 2, 7777, 2 * CHUNK))).toBe(sha(gzip(data, 0)));
  });

  it('handles empty input and input that ends on a chunk boundary', () => {
    expect(gunzip(gzip(Buffer.alloc(0), 2), 'empty.gz').length).toBe(0);
    const exact = data.subarray(0, 2 * CHUNK);
    expect(gunzip(gzip(exact, 2), 'exact.gz').equals(exact)).toBe(true);
  });

  it('compresses as well as one stream, give or take the flushes', () => {
    const single = execFileSync('gzip', ['-6', '-c'], { input: data, maxBuffer: 1 << 30 });
    expect(gzip(data, 2).length).toBeLessThan(single.length * 1.01);
  });
});

describe('deflateParallel and deflateEach', () => {
  const chunks = [mixed(300_000), mixed(1000), mixed(CHUNK)];
  const whole = Buffer.concat(chunks);
  const settings = { level: 6, windowBits: 15, memLevel: 8 };

  it('deflateParallel: one raw deflate stream of all the chunks, the same bytes for 0 and 3 workers', () => {
    const a = deflateParallel(chunks, settings, { workers: 0 });
    const b = deflateParallel(chunks, settings, { workers: 3, inlineFirst: 0 });
    expect(inflateRawSync(a).equals(whole)).toBe(true);
    expect(sha(b)).toBe(sha(a));
  });

  it('deflateEach: each chunk its own raw stream (e.g. 4 KiB-window qcow2 clusters), in order', () => {
    const small = { level: 6, windowBits: 12, memLevel: 9 };
    const each = deflateEach(chunks, small, { workers: 2, inlineFirst: 0 });
    expect(each.map((c) => inflateRawSync(c, { windowBits: 12 }))).toEqual(chunks);
    expect(each.map(sha)).toEqual(deflateEach(chunks, small, { workers: 0 }).map(sha));
    expect(chunks[0].length).toBe(300_000); // the caller's buffers are left alone
  });

  it('refuses bad settings with one line', () => {
    expect(() => deflateParallel(chunks, { ...settings, level: 10 })).toThrow('deflate: level 10: use 1 to 9');
  });
});

describe('the initramfs through parallel gzip', () => {
  const tree = hardTree(scratch);
  tree.set('data/mixed', makeNode('file', { mode: 0o644 }, { content: bytesContent(mixed(3 * CHUNK + 999)) }));
  const parts: Buffer[] = [];
  writeNewc(tree, (c) => parts.push(Buffer.from(c)));
  const cpio = Buffer.concat(parts);

  it('decompresses (gzip -dc) to exactly the single-stream archive, and GNU cpio lists the same entries', async () => {
    const path = join(scratch, 'initrd.cpio.gz');
    await writeInitramfs(tree, path);
    const plain = gunzip(readFileSync(path), 'initrd-copy.gz');
    expect(plain.equals(cpio)).toBe(true);
    const list = (f: string) => execFileSync('sh', ['-c', `${f} | cpio -it --quiet`]).toString();
    writeFileSync(join(scratch, 'ref.cpio'), cpio);
    expect(list(`gzip -dc ${path}`)).toBe(list(`cat ${join(scratch, 'ref.cpio')}`));
  });

  it('is the same bytes for 1, 2 and 4 workers', () => {
    expect(new Set([1, 2, 4].map((w) => sha(gzip(cpio, w, 65536)))).size).toBe(1);
  });
});
