// Step 3 of the ext4 writer: file data, hashed (the UUID's input) and written into its
// blocks, through one reusable staging buffer (no buffer per chunk) and one descriptor
// per source file (a cached layer tar holds thousands of files: opened once, not once
// per file).
import { createHash, type Hash } from 'node:crypto';
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
   * Stages the content's bytes [from, end) (holes as zeros), up to STAGE at a time,
   * each chunk zero-padded to whole blocks in the buffer; yields each chunk's length
   * (its offset is from + STAGE × its index).
   */
  *chunks(content: Content, from: number, end: number): Generator<number> {
    for (let at = from; at < end; at += STAGE) {
      const n = Math.min(STAGE, end - at);
      this.fill(content, at, n);
      this.buf.fill(0, n, Math.ceil(n / BLOCK) * BLOCK);
      yield n;
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
  const steps = hashSteps(files, hash);
  while (!steps.next().done);
  return hash.digest();
}

/** contentDigest giving the event loop a turn every 8 MiB (signals are handled meanwhile). */
export async function contentDigestAsync(files: Iterable<Content>): Promise<Buffer> {
  const hash = createHash('sha256');
  const steps = hashSteps(files, hash);
  for (let n = 1; !steps.next().done; n++) if (n % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
  return hash.digest();
}

/** Hashes the files' data into `hash`, yielding after each staged chunk (at most 1 MiB). */
function* hashSteps(files: Iterable<Content>, hash: Hash): Generator<void> {
  const stage = new Stage();
  try {
    for (const c of files)
      for (const n of dataChunks(stage, c)) {
        hash.update(stage.buf.subarray(0, n));
        yield;
      }
  } finally {
    stage.close();
  }
}

/** The content's data block runs (up to its size), staged a chunk at a time. */
function* dataChunks(stage: Stage, c: Content): Generator<number> {
  for (const r of fileRuns(c)) yield* stage.chunks(c, r.start * BLOCK, Math.min((r.start + r.length) * BLOCK, c.size));
}

/** Writes files' data into their extents, each extent's last block zero-padded. */
export class DataWriter {
  private readonly stage = new Stage();

  constructor(private readonly w: BlockWriter) {}

  write(content: Content, extents: Extent[]): void {
    for (const e of extents) {
      const end = Math.min((e.logical + e.length) * BLOCK, content.size);
      let block = e.physical;
      for (const n of this.stage.chunks(content, e.logical * BLOCK, end)) {
        const blocks = Math.ceil(n / BLOCK);
        this.w.write(block, this.stage.buf.subarray(0, blocks * BLOCK));
        block += blocks;
      }
    }
  }

  close(): void {
    this.stage.close();
  }
}
