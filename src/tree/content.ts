// File content by reference: a file's bytes are described, not held. Each piece is a
// run of bytes at an offset of the file, taken from a buffer or from a region of a
// file on disk (a cached blob, a local file). Gaps between pieces are holes: they read
// as zeros and writers that know sparse files keep them unallocated.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { BuildError } from '../errors.js';

export type Piece =
  { at: number; length: number; bytes: Uint8Array } | { at: number; length: number; file: string; from: number };

export interface Content {
  size: number;
  /** sorted by `at`, not overlapping, all inside [0, size) */
  pieces: Piece[];
}

export function bytesContent(bytes: Uint8Array): Content {
  return { size: bytes.length, pieces: bytes.length ? [{ at: 0, length: bytes.length, bytes }] : [] };
}

export function fileContent(file: string, size: number, from = 0): Content {
  return size ? new FileRegion(size, file, from) : { size, pieces: [] };
}

/**
 * A content that is one region of one file, from the content's first byte to its last
 * (most files of an image: a run of a layer tar), in one object of 48 bytes instead of
 * 152 for a content, its piece list and its piece: the list is made when asked (a writer
 * asks a few times a file).
 */
export class FileRegion implements Content {
  constructor(
    readonly size: number,
    readonly file: string,
    readonly from: number,
  ) {}

  get pieces(): Piece[] {
    return [{ at: 0, length: this.size, file: this.file, from: this.from }];
  }
}

const CHUNK = 1 << 20;

type FilePiece = Extract<Piece, { file: string }>;

/**
 * Reads the bytes of a content: the one place where file pieces are read from disk
 * (synchronously, one descriptor per file, kept open until `close`). `read` serves
 * ranges in increasing order and says when a range is all hole; `chunks` streams a
 * range with holes as zeros.
 */
export class ContentReader {
  /** the first piece that may still hold data for `read` (ranges come in increasing order) */
  private piece = 0;
  private fds = new Map<string, number>();

  /** `Fail`: the error class of a short read (a file that changed while building) */
  constructor(
    readonly content: Content,
    private readonly Fail: new (message: string) => Error = BuildError,
  ) {}

  /** Where the first data byte at or after `from` is (the content's size when none is). */
  nextData(from: number): number {
    const pieces = this.content.pieces;
    this.skipTo(from);
    for (let i = this.piece; i < pieces.length; i++) if (pieces[i].length) return Math.max(from, pieces[i].at);
    return Math.max(from, this.content.size);
  }

  /** The bytes of [from, from + length) (past the end as zeros), or null when that range is all hole. */
  read(from: number, length: number): Buffer | null {
    const pieces = this.content.pieces;
    const end = from + length;
    this.skipTo(from);
    if (this.piece >= pieces.length || pieces[this.piece].at >= end) return null;
    const buf = Buffer.allocUnsafeSlow(length);
    let filled = from;
    for (let i = this.piece; i < pieces.length && pieces[i].at < end; i++) {
      const p = pieces[i];
      const a = Math.max(from, p.at);
      const b = Math.min(end, p.at + p.length);
      if (a > filled) buf.fill(0, filled - from, a - from);
      if ('bytes' in p) buf.set(p.bytes.subarray(a - p.at, b - p.at), a - from);
      else this.readFile(p, buf.subarray(a - from, b - from), a - p.at);
      filled = b;
    }
    if (filled < end) buf.fill(0, filled - from);
    return buf;
  }

  /** The bytes in [start, end) in chunks of at most 1 MiB, holes as zeros (any order of calls). */
  *chunks(start = 0, end = this.content.size): Generator<Uint8Array> {
    let pos = start;
    for (const p of this.content.pieces) {
      if (p.at + p.length <= pos) continue;
      if (p.at >= end) break;
      if (p.at > pos) {
        yield* zeros(p.at - pos);
        pos = p.at;
      }
      const to = Math.min(p.length, end - p.at);
      for (let o = pos - p.at; o < to; o += CHUNK) {
        const n = Math.min(CHUNK, to - o);
        if ('bytes' in p) yield p.bytes.subarray(o, o + n);
        else {
          const buf = Buffer.allocUnsafe(n);
          this.readFile(p, buf, o);
          yield buf;
        }
      }
      pos = p.at + to;
    }
    if (end > pos) yield* zeros(end - pos);
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private skipTo(from: number): void {
    const pieces = this.content.pieces;
    while (this.piece < pieces.length && pieces[this.piece].at + pieces[this.piece].length <= from) this.piece++;
  }

  /** Fills buf with the piece's bytes from offset `at` of the piece on. */
  private readFile(p: FilePiece, buf: Uint8Array, at: number): void {
    let fd = this.fds.get(p.file);
    if (fd === undefined) this.fds.set(p.file, (fd = openSync(p.file, 'r')));
    for (let o = 0; o < buf.length;) {
      const n = readSync(fd, buf, o, buf.length - o, p.from + at + o);
      if (n === 0)
        throw new this.Fail(`${p.file}: ends before byte ${p.from + p.length} (file changed while building?)`);
      o += n;
    }
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
export function readContent(c: Content): Generator<Uint8Array> {
  return readRange(c, 0, c.size);
}

/** The bytes in [start, end) of the content, holes as zeros. */
export function* readRange(c: Content, start: number, end: number): Generator<Uint8Array> {
  const reader = new ContentReader(c);
  try {
    yield* reader.chunks(start, end);
  } finally {
    reader.close();
  }
}

/** The blocks of `block` bytes that hold data (pieces rounded out to blocks, merged), as
 *  runs of block numbers; the other blocks of the file are holes. */
export function dataBlockRuns(c: Content, block: number): { start: number; length: number }[] {
  // a FileRegion is one piece from byte 0 (its pieces are made when asked)
  if (c instanceof FileRegion) return c.size ? [{ start: 0, length: Math.ceil(c.size / block) }] : [];
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
