// wasm/zlib/zlib.wasm (src/deflate/wasm.ts) is what wasm/zlib/build.sh makes from the
// pinned zlib source with Debian 12's clang, byte for byte. It deflates as zlib does: for
// QEMU's qcow2 cluster settings its output equals pako's port of zlib in pako's
// legacyHash mode (zlib's own hash). In pako mode (pako-hash.patch, glue.c's push loop)
// it gives pako 3's default bytes, which the golden cpio.gz pins: checked on pigz-style
// chunks (a dictionary, a sync flush) at several levels and memLevels. The readers
// (qemu-img, gzip) are in test/qcow2.test.ts and test/deflate.test.ts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { Deflate, Z_FINISH as PAKO_FINISH, Z_SYNC_FLUSH as PAKO_SYNC } from 'pako';
import { describe, expect, it } from 'vitest';
import { deflateChunk } from '../src/deflate/raw.js';
import { Z_FINISH, zlibDeflate } from '../src/deflate/wasm.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-zlib-wasm-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** pako (zlib's deflate in JavaScript); `legacyHash`: with zlib's own hash. */
function pako(
  data: Uint8Array,
  o: {
    level: number;
    windowBits: number;
    memLevel: number;
    last: boolean;
    dictionary?: Uint8Array;
    legacyHash: boolean;
  },
): Buffer {
  const options = {
    raw: true,
    level: o.level as 6,
    windowBits: o.windowBits,
    memLevel: o.memLevel,
    legacyHash: o.legacyHash,
  };
  const d = new Deflate(o.dictionary ? { ...options, dictionary: o.dictionary } : options);
  const parts: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => parts.push(c);
  d.push(data, o.last ? PAKO_FINISH : PAKO_SYNC);
  return Buffer.concat(parts);
}

/** Real input: `mib` MiB from the start of the node binary (code, tables, strings) and a text file. */
function sample(mib: number): Buffer {
  return Buffer.concat([readFileSync(process.execPath).subarray(0, mib << 20), readFileSync('README.md')]);
}

describe('zlib built to WebAssembly', () => {
  it('wasm/zlib/build.sh rebuilds the committed zlib.wasm byte for byte', () => {
    const out = join(scratch, 'zlib.wasm');
    execFileSync('bash', ['wasm/zlib/build.sh', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    expect(sha(readFileSync(out))).toBe(sha(readFileSync('wasm/zlib/zlib.wasm')));
  }, 300_000);

  it("gives zlib's bytes for qcow2 clusters (QEMU's settings; null when a cluster does not shrink)", () => {
    const data = sample(3);
    const settings = { level: 6, windowBits: 12, memLevel: 9 };
    let compressed = 0;
    for (let at = 0; at + 65536 <= data.length; at += 65536) {
      const cluster = data.subarray(at, at + 65536);
      const ours = zlibDeflate(cluster, { ...settings, flush: Z_FINISH, outputCapacity: 65535, pako: false });
      const theirs = pako(cluster, { ...settings, last: true, legacyHash: true });
      if (theirs.length >= 65535) {
        expect(ours).toBeNull();
        continue;
      }
      expect(Buffer.from(ours!).equals(theirs)).toBe(true);
      expect(inflateRawSync(ours!, { windowBits: 12 }).equals(cluster)).toBe(true);
      compressed++;
    }
    expect(compressed).toBeGreaterThan(20);
    // random bytes do not shrink
    const noise = createHash('sha512').update('x').digest();
    const random = Buffer.concat(
      Array.from({ length: 1024 }, (_, i) => createHash('sha512').update(noise).update(String(i)).digest()),
    );
    expect(zlibDeflate(random, { ...settings, flush: Z_FINISH, outputCapacity: 65535, pako: false })).toBeNull();
  });

  it("in pako mode gives pako's default bytes for pigz-style chunks: a dictionary, a sync flush, levels 1, 4, 6 and 9", () => {
    const data = Buffer.concat([sample(1), Buffer.alloc(200_000), Buffer.from('abc'.repeat(50_000))]);
    const cases = [
      { level: 1, windowBits: 15, memLevel: 8 },
      { level: 4, windowBits: 15, memLevel: 8 },
      { level: 6, windowBits: 15, memLevel: 8 },
      { level: 6, windowBits: 12, memLevel: 1 },
      { level: 9, windowBits: 15, memLevel: 9 },
    ];
    for (const settings of cases) {
      for (let at = 0; at < data.length; at += 128 * 1024) {
        const chunk = data.subarray(at, at + 128 * 1024);
        const dictionary = at > 0 ? data.subarray(at - 32768, at) : undefined;
        const last = at + chunk.length >= data.length;
        const ours = deflateChunk(chunk, settings, last, dictionary);
        expect(Buffer.from(ours).equals(pako(chunk, { ...settings, last, dictionary, legacyHash: false }))).toBe(true);
      }
    }
  });

  it("in pako mode gives pako's bytes where pako's 16 KiB output pieces make zlib repeat the sync marker", () => {
    // pako's push loop calls deflate again when a piece fills; if the sync flush's empty
    // stored block was left pending, zlib writes a second one (one deflate call into a
    // large buffer writes one). Inputs whose output crosses 16 KiB have such cases.
    const text = sample(1);
    const settings = { level: 6, windowBits: 15, memLevel: 8 };
    const theirs = (n: number) => pako(text.subarray(0, n), { ...settings, last: false, legacyHash: false });
    let lo = 1;
    for (let hi = text.length; lo < hi;) {
      const mid = (lo + hi) >> 1;
      if (theirs(mid).length < 16384 + 5) lo = mid + 1;
      else hi = mid;
    }
    const twoMarkers = Buffer.from([0, 0, 0xff, 0xff, 0, 0, 0, 0xff, 0xff]);
    let found = 0;
    for (let n = lo - 300; n < lo + 300; n++) {
      const t = theirs(n);
      if (!t.subarray(-9).equals(twoMarkers)) continue;
      found++;
      expect(Buffer.from(deflateChunk(text.subarray(0, n), settings, false)).equals(t)).toBe(true);
    }
    expect(found).toBeGreaterThan(0);
  });
});
