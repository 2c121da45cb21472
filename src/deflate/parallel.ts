// pigz's scheme for one deflate stream on every core (pigz.c, compress_thread and
// write_thread): the input is cut at fixed offsets into chunks; each is compressed
// independently, primed with the 32 KiB of input before it as the dictionary, all but
// the last ending with a sync flush; the pieces, joined in order, are one valid raw
// deflate stream. The bytes depend only on the input, the chunk size and the settings:
// not on how the input was written, nor on the number of workers.
import { availableParallelism } from 'node:os';
import { type DeflatePool, type PoolOptions, startDeflatePool } from './pool.js';
import type { DeflateSettings } from './raw.js';

/** pigz's default block size (-b 128) and dictionary (the whole 32 KiB window). */
export const CHUNK = 128 * 1024;
const DICT = 32 * 1024;

export interface ParallelOptions extends Partial<PoolOptions> {
  /** compression threads (default os.availableParallelism()); 0 = on this thread */
  workers?: number;
}

/** A raw deflate stream written in pieces: pieces reach `out` in order as they are done. */
export class ChainedDeflate {
  private pool: DeflatePool;
  private buf = new Uint8Array(CHUNK);
  private used = 0;
  private dict?: Uint8Array;
  private readonly inFlight: number;

  constructor(
    settings: DeflateSettings,
    private out: (piece: Uint8Array) => void,
    o: ParallelOptions = {},
  ) {
    const workers = o.workers ?? availableParallelism();
    this.pool = startDeflatePool(settings, { ...o, workers });
    this.inFlight = Math.max(1, 2 * workers);
  }

  write(data: Uint8Array): void {
    for (let at = 0; at < data.length;) {
      const n = Math.min(CHUNK - this.used, data.length - at);
      this.buf.set(data.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === CHUNK) this.submit(false);
    }
  }

  /** Compresses what is left, ends the stream and stops the workers. */
  end(): void {
    this.submit(true);
    while (this.pool.pending) this.out(this.pool.next());
    this.close();
  }

  /** Stops the workers (also after a failure); the stream is then unusable. */
  close(): void {
    this.pool.close();
  }

  private submit(last: boolean): void {
    const chunk = this.buf.subarray(0, this.used);
    const dict = this.dict;
    // the next chunk's dictionary: the last 32 KiB of input before it (every chunk but
    // the last is CHUNK bytes long)
    this.dict = last ? undefined : chunk.slice(CHUNK - DICT);
    this.pool.submit({ data: chunk, last, dictionary: dict });
    this.buf = new Uint8Array(CHUNK);
    this.used = 0;
    while (this.pool.pending >= this.inFlight) this.out(this.pool.next());
  }
}

/** One raw deflate stream of the concatenated chunks, compressed on every core. */
export function deflateParallel(
  chunks: Iterable<Uint8Array>,
  settings: DeflateSettings,
  o: ParallelOptions = {},
): Uint8Array {
  const pieces: Uint8Array[] = [];
  const d = new ChainedDeflate(settings, (p) => pieces.push(p), o);
  try {
    for (const c of chunks) d.write(c);
    d.end();
  } finally {
    d.close();
  }
  return Buffer.concat(pieces);
}

/**
 * Each chunk as its own complete raw deflate stream (no dictionary), compressed on every
 * core, results in input order: e.g. qcow2's compressed clusters.
 */
export function deflateEach(
  chunks: Iterable<Uint8Array>,
  settings: DeflateSettings,
  o: ParallelOptions = {},
): Uint8Array[] {
  const workers = o.workers ?? availableParallelism();
  const pool = startDeflatePool(settings, { ...o, workers });
  const out: Uint8Array[] = [];
  try {
    for (const c of chunks) {
      pool.submit({ data: new Uint8Array(c), last: true }); // a copy: the pool takes over what it is given
      while (pool.pending >= Math.max(1, 2 * workers)) out.push(pool.next());
    }
    while (pool.pending) out.push(pool.next());
  } finally {
    pool.close();
  }
  return out;
}
