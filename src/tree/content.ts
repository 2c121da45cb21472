// File content by reference: a file's bytes are described, not held. Each piece is a
// run of bytes at an offset of the file, taken from a buffer or from a region of a
// file on disk (a cached blob, a local file). Gaps between pieces are holes: they read
// as zeros and writers that know sparse files keep them unallocated.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export type Piece =
  | { at: number; length: number; bytes: Uint8Array }
  | { at: number; length: number; file: string; from: number };

export interface Content {
  size: number;
  /** sorted by `at`, not overlapping, all inside [0, size) */
  pieces: Piece[];
}

export function bytesContent(bytes: Uint8Array): Content {
  return { size: bytes.length, pieces: bytes.length ? [{ at: 0, length: bytes.length, bytes }] : [] };
}

export function fileContent(file: string, size: number, from = 0): Content {
  return { size, pieces: size ? [{ at: 0, length: size, file, from }] : [] };
}

const CHUNK = 1 << 20;

/** Reads a piece's bytes in chunks of at most 1 MiB (synchronous: one file at a time). */
function* readPiece(p: Piece): Generator<Uint8Array> {
  if ('bytes' in p) {
    for (let o = 0; o < p.length; o += CHUNK) yield p.bytes.subarray(o, Math.min(p.length, o + CHUNK));
    return;
  }
  const fd = openSync(p.file, 'r');
  try {
    for (let o = 0; o < p.length; ) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, p.length - o));
      const n = readSync(fd, buf, 0, buf.length, p.from + o);
      if (n === 0) throw new Error(`${p.file}: ends before byte ${p.from + p.length} (file changed while building?)`);
      o += n;
      yield buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

function* zeros(n: number): Generator<Uint8Array> {
  const z = new Uint8Array(Math.min(n, CHUNK));
  for (let o = 0; o < n; o += CHUNK) yield n - o >= z.length ? z : z.subarray(0, n - o);
}

/** Where a content holds data: its pieces, merged where they touch (the gaps are holes). */
export function segments(c: Content): { at: number; length: number }[] {
  const out: { at: number; length: number }[] = [];
  for (const p of c.pieces) {
    if (!p.length) continue;
    const last = out[out.length - 1];
    if (last && last.at + last.length === p.at) last.length += p.length;
    else out.push({ at: p.at, length: p.length });
  }
  return out;
}

/** How many bytes of the content are holes. */
export function holeBytes(c: Content): number {
  let data = 0;
  for (const p of c.pieces) data += p.length;
  return c.size - data;
}

/**
 * sha256 (hex) of where the content holds data and of those bytes: for each data
 * segment "<offset>+<length>;" then its bytes. The holes cost nothing, so a 1 TiB
 * sparse file is hashed in the time of its data.
 */
export function layoutDigest(c: Content): string {
  const h = createHash('sha256');
  for (const s of segments(c)) {
    h.update(`${s.at}+${s.length};`);
    for (const chunk of readRange(c, s.at, s.at + s.length)) h.update(chunk);
  }
  return h.digest('hex');
}

/** Every byte of the content in order, holes as zeros. */
export function* readContent(c: Content): Generator<Uint8Array> {
  let pos = 0;
  for (const p of c.pieces) {
    if (p.at > pos) yield* zeros(p.at - pos);
    yield* readPiece(p);
    pos = p.at + p.length;
  }
  if (c.size > pos) yield* zeros(c.size - pos);
}

/** The bytes in [start, end) of the content, holes as zeros. */
export function* readRange(c: Content, start: number, end: number): Generator<Uint8Array> {
  let pos = start;
  for (const p of c.pieces) {
    if (p.at + p.length <= pos) continue;
    if (p.at >= end) break;
    if (p.at > pos) {
      yield* zeros(p.at - pos);
      pos = p.at;
    }
    const from = pos - p.at;
    const to = Math.min(p.length, end - p.at);
    const part: Piece = 'bytes' in p ? { at: pos, length: to - from, bytes: p.bytes.subarray(from, to) } : { at: pos, length: to - from, file: p.file, from: p.from + from };
    yield* readPiece(part);
    pos = p.at + to;
  }
  if (end > pos) yield* zeros(end - pos);
}

/** The blocks of `block` bytes that hold data (pieces rounded out to blocks, merged), as
 *  runs of block numbers; the other blocks of the file are holes. */
export function dataBlockRuns(c: Content, block: number): { start: number; length: number }[] {
  const runs: { start: number; length: number }[] = [];
  for (const p of c.pieces) {
    if (!p.length) continue;
    const start = Math.floor(p.at / block);
    const end = Math.ceil((p.at + p.length) / block);
    const last = runs[runs.length - 1];
    if (last && start <= last.start + last.length) last.length = Math.max(last.length, end - last.start);
    else runs.push({ start, length: end - start });
  }
  return runs;
}
