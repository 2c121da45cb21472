// One raw deflate stream (RFC 1951, no zlib or gzip wrapper) from pako: the same bytes on
// every platform and Node version. A chunk of a longer stream is primed with the input
// before it as the dictionary and ends with a sync flush (an empty stored block, so the
// next chunk starts on a byte boundary); the last ends the stream (Z_FINISH). This is how
// pigz joins independently compressed chunks into one stream (pigz.c, compress_thread).
import { Deflate, Z_FINISH, Z_SYNC_FLUSH } from 'pako';

export interface DeflateSettings {
  /** 1–9 */
  level: number;
  /** the window, 8–15 (as zlib's windowBits for a raw stream, without the sign) */
  windowBits: number;
  /** 1–9: zlib's memLevel (8 is its default) */
  memLevel: number;
}

type Level = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

export function checkSettings(s: DeflateSettings): void {
  const bad = (what: string, v: number, lo: number, hi: number) => !Number.isInteger(v) || v < lo || v > hi ? `${what} ${v}: use ${lo} to ${hi}` : '';
  const problem = bad('level', s.level, 1, 9) || bad('windowBits', s.windowBits, 8, 15) || bad('memLevel', s.memLevel, 1, 9);
  if (problem) throw new Error(`deflate: ${problem}`);
}

/** Compresses `data` as one piece of a raw deflate stream: `last` ends the stream. */
export function deflateChunk(data: Uint8Array, s: DeflateSettings, last: boolean, dictionary?: Uint8Array): Uint8Array {
  const options = { raw: true, level: s.level as Level, windowBits: s.windowBits, memLevel: s.memLevel };
  // pako reads the dictionary's length when the option is there at all
  const d = new Deflate(dictionary ? { ...options, dictionary } : options);
  const parts: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => parts.push(c);
  d.push(data, last ? Z_FINISH : Z_SYNC_FLUSH);
  if (d.err) throw new Error(`deflate: ${d.msg}`);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
