// Reads file content for the squashfs data writer (./data.ts). Unlike a ContentReader
// per file (src/tree/content.ts), one reader serves the whole build: each source file (a
// layer tar, a local file) is opened once, not once per tree file — a Debian image has
// tens of thousands of files in one or a few tars. Every range is read into an
// ArrayBuffer of its own, so the compression pool (src/worker-pool.ts) transfers a block
// to its worker without copying it. Holes (gaps between pieces) read as zeros.
import { closeSync, openSync, readSync } from 'node:fs';
import { BuildError } from '../errors.js';
import type { Content, Piece } from '../tree/content.js';

export class SharedReader {
  private fds = new Map<string, number>();

  /** Where the first data byte at or after `from` is (the content's size when none is). */
  nextData(c: Content, from: number): number {
    const i = firstPieceEndingAfter(c.pieces, from);
    for (let k = i; k < c.pieces.length; k++) if (c.pieces[k]!.length) return Math.max(from, c.pieces[k]!.at);
    return Math.max(from, c.size);
  }

  /**
   * The bytes of [from, from + length) (past the end as zeros), or null when that range
   * is all hole: in `into` (from its start; a buffer to reuse) when given, else in a new one.
   * With `reads` (and `into`), file pieces are not read here: their ranges go into `reads`
   * for a compression worker to read into the same buffer (readRanges); the holes and
   * the in-memory pieces are filled here.
   */
  read(c: Content, from: number, length: number, into?: Uint8Array, reads?: FileRange[]): Uint8Array | null {
    const pieces = c.pieces;
    const end = from + length;
    const first = firstPieceEndingAfter(pieces, from);
    if (first >= pieces.length || pieces[first]!.at >= end) return null;
    const buf = into ? into.subarray(0, length) : new Uint8Array(length);
    let filled = from;
    for (let i = first; i < pieces.length && pieces[i]!.at < end; i++) {
      const p = pieces[i]!;
      const a = Math.max(from, p.at);
      const b = Math.min(end, p.at + p.length);
      if (into && a > filled) buf.fill(0, filled - from, a - from);
      if ('bytes' in p) buf.set(p.bytes.subarray(a - p.at, b - p.at), a - from);
      else if (reads && into) reads.push(this.range(p, a - p.at, b - a, buf.byteOffset + a - from));
      else this.readFile(p, buf.subarray(a - from, b - from), a - p.at);
      filled = Math.max(filled, b);
    }
    // the holes and anything past the end read as zeros (a new buffer is zeros already)
    if (into && filled < end) buf.fill(0, filled - from);
    return buf;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** The descriptor of the piece's file, opened on first use (shared with the workers: one process). */
  private fd(p: FilePiece): number {
    let fd = this.fds.get(p.file);
    if (fd === undefined) this.fds.set(p.file, (fd = openSync(p.file, 'r')));
    return fd;
  }

  /** `length` bytes of the piece from its offset `at`, to go at byte `to` of a block's buffer. */
  private range(p: FilePiece, at: number, length: number, to: number): FileRange {
    return { fd: this.fd(p), file: p.file, position: p.from + at, length, to, end: p.from + p.length };
  }

  /** Fills buf with the piece's bytes from offset `at` of the piece on. */
  private readFile(p: FilePiece, buf: Uint8Array, at: number): void {
    readRange(buf, 0, this.range(p, at, buf.length, 0));
  }
}

type FilePiece = Extract<Piece, { file: string }>;

/** A range of a source file (open as `fd` in this process) that goes at byte `to` of a block's buffer. */
export interface FileRange {
  fd: number;
  /** the file's path, for the error message */
  file: string;
  position: number;
  length: number;
  to: number;
  /** where the piece ends in the file (for the error message) */
  end: number;
}

/** Reads each range into `block` (any thread: the descriptors are the process's). */
export function readRanges(block: Uint8Array, ranges: FileRange[]): void {
  for (const r of ranges) readRange(block, r.to, r);
}

function readRange(buf: Uint8Array, to: number, r: FileRange): void {
  for (let o = 0; o < r.length;) {
    const n = readSync(r.fd, buf, to + o, r.length - o, r.position + o);
    if (n === 0) throw new BuildError(`${r.file}: ends before byte ${r.end} (file changed while building?)`);
    o += n;
  }
}

/** The index of the first piece that ends after `from` (pieces are sorted and do not overlap). */
function firstPieceEndingAfter(pieces: Piece[], from: number): number {
  let lo = 0;
  let hi = pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pieces[mid]!.at + pieces[mid]!.length <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
