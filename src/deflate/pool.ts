// Deflate on worker threads, synchronously: submit() hands a chunk to a worker (round
// robin) and returns at once; next() gives the results in the order the chunks were
// submitted, blocking (Atomics.wait) until the oldest is done. So synchronous writers
// (the cpio writer, a disk image writer) compress on every core with no change to their
// flow, and the bytes never depend on the number of workers. workers = 0 compresses on
// the calling thread. Starting a worker costs about as much CPU as deflating 2 MiB with pako (more with the WebAssembly zlib), so
// the workers start only once `inlineFirst` bytes have been compressed on the calling
// thread: a small input never pays for them.
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { compiledWorker } from '../worker-url.js';
import { checkSettings, type DeflateSettings, deflateChunk } from './raw.js';
import type { DeflateDone, DeflateJob, DeflateWorkerData } from './worker.js';

/** A worker that gives no answer for this long is taken as dead (a chunk takes milliseconds). */
const STALL_MS = 300_000;

/** Default bytes compressed on the calling thread before the workers start. */
export const INLINE_FIRST = 4 << 20;

export interface PoolOptions {
  /** compression threads; 0 = all on the calling thread */
  workers: number;
  /** bytes compressed on the calling thread before the workers start (default INLINE_FIRST) */
  inlineFirst?: number;
}

export class DeflatePool {
  private workers: Worker[] = [];
  private results: MessagePort[] = [];
  private signal = new Int32Array(new SharedArrayBuffer(4));
  private order: number[] = [];
  private done = new Map<number, DeflateDone>();
  private nextId = 0;
  private failed?: Error;
  private inlineLeft: number;

  constructor(
    readonly settings: DeflateSettings,
    private o: PoolOptions,
  ) {
    checkSettings(settings);
    this.inlineLeft = o.workers > 0 ? (o.inlineFirst ?? INLINE_FIRST) : Infinity;
  }

  private startWorkers(n: number): void {
    const url = compiledWorker(import.meta.url, 'deflate/worker.js');
    for (let i = 0; i < n; i++) {
      const channel = new MessageChannel();
      this.results.push(channel.port1);
      const data = { settings: this.settings, results: channel.port2, signal: this.signal } satisfies DeflateWorkerData;
      const w = new Worker(url, { workerData: data, transferList: [channel.port2] });
      w.on('error', (e) => (this.failed ??= new Error(`deflate: worker ${i} failed: ${e.message}`)));
      w.unref();
      this.workers.push(w);
    }
  }

  /** Chunks submitted and not yet taken with next(). */
  get pending(): number {
    return this.order.length;
  }

  /** Queues a chunk (which the pool takes over: do not reuse it); see deflateChunk. */
  submit(data: Uint8Array, last: boolean, dictionary?: Uint8Array): void {
    const id = this.nextId++;
    this.order.push(id);
    if (this.inlineLeft > 0) {
      this.inlineLeft -= data.length;
      this.done.set(id, { id, bytes: deflateChunk(data, this.settings, last, dictionary) });
      return;
    }
    if (!this.workers.length) this.startWorkers(this.o.workers);
    const own = (b: Uint8Array) =>
      b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !Buffer.isBuffer(b) ? b : new Uint8Array(b);
    const job: DeflateJob = { id, data: own(data), dictionary: dictionary && new Uint8Array(dictionary), last };
    this.workers[id % this.workers.length].postMessage(job, [job.data.buffer as ArrayBuffer]);
  }

  /** The compressed bytes of the oldest chunk not yet taken, waiting for them if needed. */
  next(): Uint8Array {
    const id = this.order.shift();
    if (id === undefined) throw new Error('deflate: next() with no chunk submitted');
    while (!this.done.has(id)) this.receive();
    const d = this.done.get(id)!;
    this.done.delete(id);
    if (d.error !== undefined) throw new Error(`deflate: ${d.error}`);
    return d.bytes!;
  }

  private receive(): void {
    if (this.failed) throw this.failed;
    const seen = Atomics.load(this.signal, 0);
    const got = this.results.reduce((n, port) => n + this.drain(port), 0);
    if (got === 0 && Atomics.wait(this.signal, 0, seen, STALL_MS) === 'timed-out') {
      throw new Error(`deflate: no answer from the compression workers in ${STALL_MS / 1000} s (a worker died?)`);
    }
  }

  /** Stores every answer waiting on `port`; returns how many. */
  private drain(port: MessagePort): number {
    let n = 0;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const d = m.message as DeflateDone;
      this.done.set(d.id, d);
      n++;
    }
    return n;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    for (const port of this.results) port.close();
    this.results = [];
  }
}
