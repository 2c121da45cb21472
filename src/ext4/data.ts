// Step 3 of the ext4 writer: file data into its blocks, through one reusable staging
// buffer (no buffer per chunk) and one descriptor per source file (a cached layer tar
// holds thousands of files: opened once, not once per file).
import type { Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { BlockWriter } from '../block-writer.js';
import { BuildError } from '../errors.js';
import type { Content, Piece } from '../tree/content.js';
import type { Extent } from './extents.js';
import { BLOCK } from './format.js';

type FilePiece = Extract<Piece, { file: string }>;

/** Bytes staged per write: whole blocks. */
const STAGE = 1 << 20;

export class DataWriter {
  private readonly stage = Buffer.allocUnsafe(STAGE);
  private readonly fds = new Map<string, number>();

  constructor(
    private readonly w: BlockWriter,
    private readonly hash: Hash,
  ) {}

  /**
   * Writes a file's data into its extents, each extent's last block zero-padded, and
   * hashes the content bytes the extents hold (holes inside them as zeros), in order.
   */
  write(content: Content, extents: Extent[]): void {
    for (const e of extents) {
      const end = Math.min((e.logical + e.length) * BLOCK, content.size);
      for (let from = e.logical * BLOCK; from < end; from += STAGE) {
        const n = Math.min(STAGE, end - from);
        const blocks = Math.ceil(n / BLOCK);
        this.fill(content, from, n);
        this.stage.fill(0, n, blocks * BLOCK);
        this.hash.update(this.stage.subarray(0, n));
        this.w.write(e.physical + (from / BLOCK - e.logical), this.stage.subarray(0, blocks * BLOCK));
      }
    }
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** The content's bytes [from, from + n) into the stage; holes as zeros. */
  private fill(content: Content, from: number, n: number): void {
    const end = from + n;
    let filled = from;
    for (const p of content.pieces) {
      if (p.at + p.length <= from) continue;
      if (p.at >= end) break;
      const a = Math.max(from, p.at);
      const b = Math.min(end, p.at + p.length);
      if (a > filled) this.stage.fill(0, filled - from, a - from);
      if ('bytes' in p) this.stage.set(p.bytes.subarray(a - p.at, b - p.at), a - from);
      else this.read(p, a - p.at, a - from, b - a);
      filled = b;
    }
    if (filled < end) this.stage.fill(0, filled - from, n);
  }

  /** `length` bytes of file piece p from its offset `offset` into the stage at `at`. */
  private read(p: FilePiece, offset: number, at: number, length: number): void {
    let fd = this.fds.get(p.file);
    if (fd === undefined) this.fds.set(p.file, (fd = openSync(p.file, 'r')));
    for (let o = 0; o < length;) {
      const got = readSync(fd, this.stage, at + o, length - o, p.from + offset + o);
      if (got === 0)
        throw new BuildError(`${p.file}: ends before byte ${p.from + p.length} (file changed while building?)`);
      o += got;
    }
  }
}
