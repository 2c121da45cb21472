// Step 3 of the ext4 writer: file data, hashed (the UUID's input) and written into its
// blocks, read straight into the block writer's buffer (no staging copy) through one
// descriptor per source file (a cached layer tar holds thousands of files: opened
// once, not once per file).
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { BlockWriter } from '../block-writer.js';
import { BuildError } from '../errors.js';
import type { Content, Piece } from '../tree/content.js';
import type { Extent } from './extents.js';
import { BLOCK } from './format.js';
import { fileRuns } from './plan.js';

type FilePiece = Extract<Piece, { file: string }>;

/** Bytes read at a time: whole blocks. */
const STAGE = 1 << 20;

/** Reads contents into a caller's buffer, a descriptor per source file kept open until close(). */
class Reader {
  private readonly fds = new Map<string, number>();

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** The content's bytes [from, from + n) into `to` (holes as zeros), the rest of `to` zeroed. */
  fill(to: Uint8Array, content: Content, from: number, n: number): void {
    const end = from + n;
    let filled = from;
    for (const p of content.pieces) {
      if (p.at + p.length <= from) continue;
      if (p.at >= end) break;
      const a = Math.max(from, p.at);
      const b = Math.min(end, p.at + p.length);
      if (a > filled) to.fill(0, filled - from, a - from);
      if ('bytes' in p) to.set(p.bytes.subarray(a - p.at, b - p.at), a - from);
      else this.read(to, p, a - p.at, a - from, b - a);
      filled = b;
    }
    to.fill(0, filled - from);
  }

  /** `length` bytes of file piece p from its offset `offset` into `to` at `at`. */
  private read(to: Uint8Array, p: FilePiece, offset: number, at: number, length: number): void {
    let fd = this.fds.get(p.file);
    if (fd === undefined) this.fds.set(p.file, (fd = openSync(p.file, 'r')));
    for (let o = 0; o < length;) {
      const got = readSync(fd, to, at + o, length - o, p.from + offset + o);
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

/** contentDigest giving the event loop a turn every 8 MiB hashed (signals are handled meanwhile). */
export async function contentDigestAsync(files: Iterable<Content>): Promise<Buffer> {
  const hash = createHash('sha256');
  let bytes = 0;
  for (const n of hashSteps(files, hash)) {
    bytes += n;
    if (bytes < 8 << 20) continue;
    bytes = 0;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return hash.digest();
}

/** Hashes the files' data into `hash`, yielding each chunk's size after it (at most 1 MiB). */
function* hashSteps(files: Iterable<Content>, hash: Hash): Generator<number> {
  const reader = new Reader();
  const buf = Buffer.allocUnsafe(STAGE);
  try {
    for (const c of files)
      for (const [from, n] of dataChunks(c)) {
        reader.fill(buf.subarray(0, n), c, from, n);
        hash.update(buf.subarray(0, n));
        yield n;
      }
  } finally {
    reader.close();
  }
}

/** The content's data block runs (up to its size), in chunks of at most STAGE bytes: [from, bytes]. */
function* dataChunks(c: Content): Generator<[number, number]> {
  for (const r of fileRuns(c)) {
    const end = Math.min((r.start + r.length) * BLOCK, c.size);
    for (let at = r.start * BLOCK; at < end; at += STAGE) yield [at, Math.min(STAGE, end - at)];
  }
}

/** Writes files' data into their extents, each extent's last block zero-padded. */
export class DataWriter {
  private readonly reader = new Reader();

  constructor(private readonly w: BlockWriter) {}

  write(content: Content, extents: Extent[]): void {
    for (const e of extents) {
      const end = Math.min((e.logical + e.length) * BLOCK, content.size);
      let block = e.physical;
      for (let at = e.logical * BLOCK; at < end; at += STAGE) {
        const n = Math.min(STAGE, end - at);
        const blocks = Math.ceil(n / BLOCK);
        this.reader.fill(this.w.reserve(block, blocks * BLOCK), content, at, n);
        block += blocks;
      }
    }
  }

  close(): void {
    this.reader.close();
  }
}
