// One raw deflate stream (RFC 1951, no zlib or gzip wrapper), pako 3's bytes: the same on
// every platform and Node version. They come from zlib built to WebAssembly in pako's mode
// (./wasm.ts: pako's string hash and output pieces), byte for byte what pako's Deflate
// gives (test/zlib-wasm.test.ts) at about 2.5 times its speed. A chunk of a longer stream is primed with the input
// before it as the dictionary and ends with a sync flush (an empty stored block, so the
// next chunk starts on a byte boundary); the last ends the stream (Z_FINISH). This is how
// pigz joins independently compressed chunks into one stream (pigz.c, compress_thread).
import { PAKO_SLACK, Z_FINISH, Z_SYNC_FLUSH, zlibDeflate } from './wasm.js';

export interface DeflateSettings {
  /** 1–9 */
  level: number;
  /** the window, 8–15 (as zlib's windowBits for a raw stream, without the sign) */
  windowBits: number;
  /** 1–9: zlib's memLevel (8 is its default) */
  memLevel: number;
}

export function checkSettings(s: DeflateSettings): void {
  const bad = (what: string, v: number, lo: number, hi: number) =>
    !Number.isInteger(v) || v < lo || v > hi ? `${what} ${v}: use ${lo} to ${hi}` : '';
  const problem =
    bad('level', s.level, 1, 9) || bad('windowBits', s.windowBits, 8, 15) || bad('memLevel', s.memLevel, 1, 9);
  if (problem) throw new Error(`deflate: ${problem}`);
}

/** Compresses `data` as one piece of a raw deflate stream: `last` ends the stream. */
export function deflateChunk(data: Uint8Array, s: DeflateSettings, last: boolean, dictionary?: Uint8Array): Uint8Array {
  const job = { ...s, flush: last ? Z_FINISH : Z_SYNC_FLUSH, dictionary, pako: true };
  // deflate's worst case is a few bytes per 16 KiB over the input (stored blocks)
  for (let room = data.length + (data.length >> 3) + 1024 + PAKO_SLACK; ; room *= 2) {
    const out = zlibDeflate(data, { ...job, outputCapacity: room });
    if (out) return out;
  }
}
