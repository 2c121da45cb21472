// Step 3 of the ext4 writer: file data, hashed (the UUID's input) and written into its
// blocks, through one reusable staging buffer (no buffer per chunk) and one descriptor
// per source file (a cached layer tar holds thousands of files: opened once, not once
// per file).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { BlockWriter } from '../block-writer.js';
import { BuildError } from '../errors.js';
import type { Content, Piece } from '../tree/content.js';
import type { Extent } from './extents.js';
import { BLOCK } from './format.js';
import { fileRuns } from './plan.js';

type FilePiece = Extract<Piece, { file: string }>;

/** Bytes staged at a time: whole blocks. */
const STAGE = 1 << 20;

/** Reads contents into one staging buffer, a descriptor per source file kept open until close(). */
class Stage {
  readonly buf = Buffer.allocUnsafe(STAGE);
  private readonly fds = new Map<string, number>();

  /**
   * Calls `take` with the content's bytes [from, end) (holes as zeros), up to STAGE at
   * a time, each zero-padded to whole blocks in the buffer, and the chunk's offset.
   */
  each(content: Content, from: number, end: number, take: (n: number, at: number) => void): void {
    for (let at = from; at < end; at += STAGE) {
      const n = Math.min(STAGE, end - at);
      this.fill(content, at, n);
      this.buf.fill(0, n, Math.ceil(n / BLOCK) * BLOCK);
      take(n, at);
    }
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** The content's bytes [from, from + n) into the buffer; holes as zeros. */
  private fill(content: Content, from: number, n: number): void {
    const end = from + n;
    let filled = from;
    for (const p of content.pieces) {
      if (p.at + p.length <= from) continue;
      if (p.at >= end) break;
      const a = Math.max(from, p.at);
      const b = Math.min(end, p.at + p.length);
      if (a > filled) this.buf.fill(0, filled - from, a - from);
      if ('bytes' in p) this.buf.set(p.bytes.subarray(a - p.at, b - p.at), a - from);
      else this.read(p, a - p.at, a - from, b - a);
      filled = b;
    }
    if (filled < end) this.buf.fill(0, filled - from, n);
  }

  /** `length` bytes of file piece p from its offset `offset` into the buffer at `at`. */
  private read(p: FilePiece, offset: number, at: number, length: number): void {
    let fd = this.fds.get(p.file);
    if (fd === undefined) this.fds.set(p.file, (fd = openSync(p.file, 'r')));
    for (let o = 0; o < length;) {
      const got = readSync(fd, this.buf, at + o, length - o, p.from + offset + o);
      if (got === 0)
        throw new BuildError(`${p.file}: ends before byte ${p.from + p.length} (file changed while building?)`);
      o += got;
    }
  }
}

/**
 * The sha256 of the files' data as the image holds it, the UUID's input: files in
 * inode order, of each the bytes of its data block runs (holes inside a run as zeros)
 * up to its size. Where the blocks are placed does not change it.
 */
export function contentDigest(files: Iterable<Content>): Buffer {
  const hash = createHash('sha256');
  const stage = new Stage();
  try {
    for (const c of files)
      for (const r of fileRuns(c))
        stage.each(c, r.start * BLOCK, Math.min((r.start + r.length) * BLOCK, c.size), (n) =>
          hash.update(stage.buf.subarray(0, n)),
        );
  } finally {
    stage.close();
  }
  return hash.digest();
}

/** Writes files' data into their extents, each extent's last block zero-padded. */
export class DataWriter {
  private readonly stage = new Stage();

  constructor(private readonly w: BlockWriter) {}

  write(content: Content, extents: Extent[]): void {
    for (const e of extents) {
      const end = Math.min((e.logical + e.length) * BLOCK, content.size);
      this.stage.each(content, e.logical * BLOCK, end, (n, at) =>
        this.w.write(e.physical + (at / BLOCK - e.logical), this.stage.buf.subarray(0, Math.ceil(n / BLOCK) * BLOCK)),
      );
    }
  }

  close(): void {
    this.stage.close();
  }
}
