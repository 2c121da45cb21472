// A pool of compression workers. Jobs may finish in any order; every job returns a
// promise and callers consume the promises in the order they submitted them, so the
// image is the same bytes whatever the number of workers (the sequence-queue rule of
// squashfs-tools-ng doc/parallelism.txt). workers = 0 compresses on the calling thread.
import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../worker-url.js';
import { type Codec, loadCompressor } from './codec.js';
import type { Done, Job } from './worker.js';

export interface Compressed {
  bytes: Uint8Array;
  raw: boolean;
}

export class CompressPool {
  private workers: Worker[] = [];
  private busy: number[] = [];
  private waiting = new Map<number, { resolve(c: Compressed): void; reject(e: Error): void; worker: number }>();
  private nextId = 0;
  private inline?: (b: Uint8Array) => Uint8Array | null;
  private failed?: Error;
  private closed = false;

  static async start(codec: Codec, workers: number): Promise<CompressPool> {
    const pool = new CompressPool();
    if (workers <= 0) {
      pool.inline = await loadCompressor(codec);
      return pool;
    }
    const url = compiledWorker(import.meta.url, 'squashfs/worker.js');
    await Promise.all(
      Array.from({ length: workers }, (_, i) => {
        const w = new Worker(url, { workerData: codec });
        pool.workers.push(w);
        pool.busy.push(0);
        return new Promise<void>((resolve, reject) => {
          w.once('error', reject);
          w.once('message', () => {
            w.off('error', reject);
            w.on('message', (d: Done) => pool.done(d));
            w.on('error', (e) =>
              pool.fail(new Error(`squashfs: compression worker ${i} failed: ${e.message || e.name || String(e)}`)),
            );
            w.on(
              'exit',
              (code) =>
                !pool.closed && pool.fail(new Error(`squashfs: compression worker ${i} exited with code ${code}`)),
            );
            resolve();
          });
        });
      }),
    );
    return pool;
  }

  /** Compresses a block (which the pool takes over: do not reuse it). */
  compress(block: Uint8Array): Promise<Compressed> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.inline) {
      const out = this.inline(block);
      return Promise.resolve(out ? { bytes: out, raw: false } : { bytes: block, raw: true });
    }
    const id = this.nextId++;
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i] < this.busy[w]) w = i;
    this.busy[w]++;
    const done = new Promise<Compressed>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker: w });
      // a block that is a view into a larger buffer, or a Node Buffer (maybe in Node's
      // pool, which Node 22+ will not transfer), is copied into its own buffer
      const whole = block.byteOffset === 0 && block.byteLength === block.buffer.byteLength && !Buffer.isBuffer(block);
      const own = whole ? block : new Uint8Array(block);
      const job: Job = { id, block: own };
      this.workers[w].postMessage(job, [own.buffer as ArrayBuffer]);
    });
    // callers await results in order and stop at the first failure: the results they
    // never reach must not count as unhandled rejections
    done.catch(() => {});
    return done;
  }

  private done(d: Done): void {
    const job = this.waiting.get(d.id);
    if (!job) return; // a result that arrives after close() or a failure: nobody waits for it
    this.waiting.delete(d.id);
    this.busy[job.worker]--;
    job.resolve({ bytes: d.bytes, raw: d.raw });
  }

  private fail(e: Error): void {
    this.failed ??= e;
    for (const j of this.waiting.values()) j.reject(e);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
