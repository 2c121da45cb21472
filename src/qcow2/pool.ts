// Compression workers for qcow2 clusters, after src/squashfs/pool.ts: jobs (batches of
// clusters) may finish in any order, but callers consume the promises in the order they
// submitted them, so the image is the same bytes for any number of workers.
// workers = 0 compresses on the calling thread.
import { Worker } from 'node:worker_threads';
import { compiledWorker } from '../worker-url.js';
import { type Stored, storedCluster } from './deflate.js';
import type { Done, Job } from './worker.js';

export type Results = Stored[];

interface Waiting {
  resolve(r: Results): void;
  reject(e: Error): void;
  worker: number;
}

export class ClusterPool {
  private workers: Worker[] = [];
  private busy: number[] = [];
  private waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failed?: Error;
  private closed = false;

  static async start(workers: number): Promise<ClusterPool> {
    const pool = new ClusterPool();
    const url = workers > 0 ? compiledWorker(import.meta.url, 'qcow2/worker.js') : undefined;
    await Promise.all(Array.from({ length: url ? workers : 0 }, (_, i) => pool.spawn(url!, i)));
    return pool;
  }

  private spawn(url: URL, i: number): Promise<void> {
    const w = new Worker(url);
    this.workers.push(w);
    this.busy.push(0);
    return new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.once('message', () => {
        w.off('error', reject);
        w.on('message', (d: Done) => this.done(d));
        w.on('error', (e) => this.fail(new Error(`qcow2: compression worker ${i} failed: ${e.message || String(e)}`)));
        w.on(
          'exit',
          (code) => !this.closed && this.fail(new Error(`qcow2: compression worker ${i} exited with code ${code}`)),
        );
        resolve();
      });
    });
  }

  /** Compresses a batch of clusters (each in a buffer of its own, which the pool takes over). */
  compress(clusters: Uint8Array[]): Promise<Results> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.workers.length) return Promise.resolve(clusters.map(storedCluster));
    const id = this.nextId++;
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i] < this.busy[w]) w = i;
    this.busy[w]++;
    const done = new Promise<Results>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker: w });
      const job: Job = { id, clusters };
      this.workers[w].postMessage(
        job,
        clusters.map((c) => c.buffer as ArrayBuffer),
      );
    });
    // callers stop at the first failure: results they never reach are not unhandled
    done.catch(() => {});
    return done;
  }

  private done(d: Done): void {
    const job = this.waiting.get(d.id);
    if (!job) return;
    this.waiting.delete(d.id);
    this.busy[job.worker]--;
    job.resolve(d.results);
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
