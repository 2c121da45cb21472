// Reads file content for the squashfs data writer (./data.ts). Unlike a ContentReader
// per file (src/tree/content.ts), one reader serves the whole build: each source file (a
// layer tar, a local file) is opened once, not once per tree file — a Debian image has
// tens of thousands of files in one or a few tars. Every range is read into an
// ArrayBuffer of its own, so the compression pool (src/worker-pool.ts) transfers a block
// to its worker without copying it. Holes (gaps between pieces) read as zeros. Without a
// compressed cache, the file pieces of a block are not read here: their ranges go with
// the block to a compression worker, which reads them (readRanges) with the same
// descriptors (a process's descriptors serve all its threads).
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
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
  read(c: Content, from: number, length: number, into?: Uint8Array, reads?: FileRanges): Uint8Array | null {
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
      else if (reads && into)
        reads.push(this.fd(p), p.from + a - p.at, b - a, buf.byteOffset + a - from, p.from + p.length);
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

  /** Fills buf with the piece's bytes from offset `at` of the piece on. */
  private readFile(p: FilePiece, buf: Uint8Array, at: number): void {
    readRange(buf, this.fd(p), p.from + at, buf.length, 0, p.from + p.length);
  }
}

type FilePiece = Extract<Piece, { file: string }>;

/**
 * File ranges to read into a block's buffer, five numbers each (plain numbers: they
 * travel to a worker cheaply, a fragment block has one per small file): the descriptor
 * (open in this process), the position in the file, the length, the byte of the
 * buffer it goes to, and where its piece ends in the file (for the error message).
 */
export type FileRanges = number[];

/** Reads each range into `block` (any thread: the descriptors are the process's). */
export function readRanges(block: Uint8Array, r: FileRanges): void {
  for (let i = 0; i < r.length; i += 5) readRange(block, r[i]!, r[i + 1]!, r[i + 2]!, r[i + 3]!, r[i + 4]!);
}

function readRange(buf: Uint8Array, fd: number, position: number, length: number, to: number, end: number): void {
  for (let o = 0; o < length;) {
    const n = readSync(fd, buf, to + o, length - o, position + o);
    if (n === 0) throw new BuildError(`${pathOf(fd)}: ends before byte ${end} (file changed while building?)`);
    o += n;
  }
}

/** The path a descriptor was opened with (Linux's /proc), for an error message on any thread. */
function pathOf(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return `file descriptor ${fd}`;
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
