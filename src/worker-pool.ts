// One ordered pool of worker threads, for every compressor (squashfs blocks, qcow2
// clusters, deflate chunks). submit() hands a job to a worker (round robin) and returns at
// once; next() (blocking, Atomics.wait) or nextAsync() gives the results in the order the
// jobs were submitted, whichever worker finishes first — the sequence-queue rule of
// squashfs-tools-ng doc/parallelism.txt — so the output never depends on the number of
// workers. Workers answer on a port of their own and bump a shared counter, which is what
// the waiting side waits on. workers = 0 does every job on the calling thread, and so
// do the first `inlineFirst` bytes of jobs: a small input never pays for starting a
// worker (about as much CPU as deflating 2 MiB). Buffers travel transferred: every
// Uint8Array in a job or a result that is a view into a larger buffer, or a Node Buffer
// (maybe in Node's pool, which Node 22+ will not transfer), is copied into its own first
// — except, in a pool made with `lend`, a view at the start of its buffer: its whole
// buffer travels with it, for the receiver to reuse (squashfs sends a block's buffer
// to the worker and gets the compressed block back in it: no buffer is made per block).
// With `batch` > 1, jobs travel in batches of that many to one worker and their results
// come back in one message (a message costs tens of microseconds; an lz4 block little
// more): a batch leaves when full, or when next() waits for a job still in it.
// A worker script is `serveJobs(setup)` (below) in a compiled module (src/worker-url.ts).
// Workers can be started ahead of their pool (startWorkersAhead: they load their modules
// and run `setup` while the caller does other work); a pool takes those of its script and
// data, and sends each its results port and signal as its first message.
import {
  MessageChannel,
  type MessagePort,
  parentPort,
  receiveMessageOnPort,
  Worker,
  workerData,
} from 'node:worker_threads';
import type { CompressedCache } from './compressed-cache.js';
import { compiledWorker } from './worker-url.js';

/** Atomics.waitAsync (V8 8.7, Node 16+; typed in TypeScript's ES2024 lib, newer than this project's target). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: boolean; value: Promise<string> | string };
  }
).waitAsync;

/** A worker that gives no answer for this long is taken as dead (a job takes milliseconds). */
const STALL_MS = 300_000;

export interface PoolSpec<J, R> {
  /** names the pool in error messages ('squashfs', 'qcow2', 'deflate') */
  name: string;
  /** the worker module relative to src/ ('squashfs/worker.js') and the caller's import.meta.url */
  script: string;
  from: string;
  /** what the worker's setup function receives */
  data?: unknown;
  /** worker threads; 0 = every job on the calling thread */
  workers: number;
  /** the job done on the calling thread */
  inline(job: J): R;
  /** bytes of jobs done on the calling thread before the workers start (default 0), measured by jobBytes */
  inlineFirst?: number;
  jobBytes?(job: J): number;
  /** results cached by content: a job whose key is in the cache is not done again */
  cache?: PoolCache<J, R>;
  /** views at the start of their buffer (not Node Buffers) travel with the whole buffer, uncopied */
  lend?: boolean;
  /** jobs per message to a worker (default 1) */
  batch?: number;
}

/** How a pool's results are kept in a CompressedCache. */
export interface PoolCache<J, R> {
  store: CompressedCache;
  /** the key of everything the result depends on (CompressedCache.key) */
  key(job: J): string;
  encode(result: R): Uint8Array;
  /** the result a stored payload gives for `job`; undefined when it does not fit (then done again) */
  decode(payload: Uint8Array, job: J): R | undefined;
}

interface Answer<R> {
  id: number;
  result?: R;
  error?: string;
}

/** What a worker receives: a batch of jobs (one message), answered by one message of Answers. */
interface Jobs<J> {
  jobs: { id: number; job: J }[];
}

interface WorkerData {
  data: unknown;
}

/** A worker's first message: where its answers go. */
interface Attach {
  results: MessagePort;
  /** one Int32 counter, bumped after every answer */
  signal: Int32Array;
  lend: boolean;
}

/** Workers started ahead, by script URL and data, until a pool takes them. */
const ahead = new Map<string, Worker[]>();

const aheadKey = (url: URL, data: unknown) => `${url.href} ${JSON.stringify(data ?? null)}`;

function newWorker(url: URL, data: unknown): Worker {
  return new Worker(url, { workerData: { data } satisfies WorkerData });
}

/**
 * Starts `count` workers of a pool's script and data ahead of the pool (unref'd: they keep
 * no process alive; a pool made later with the same script and data takes them).
 */
export function startWorkersAhead(
  spec: Pick<PoolSpec<unknown, unknown>, 'script' | 'from' | 'data'>,
  count: number,
): void {
  const url = compiledWorker(spec.from, spec.script);
  const key = aheadKey(url, spec.data);
  const list = ahead.get(key) ?? [];
  while (list.length < count) {
    const w = newWorker(url, spec.data);
    w.on('error', () => {}); // a worker that failed ahead has stopped: its pool starts another
    w.unref();
    list.push(w);
  }
  ahead.set(key, list);
}

/** A worker started ahead for this script and data, if one is still running. */
function takeAhead(url: URL, data: unknown): Worker | undefined {
  const list = ahead.get(aheadKey(url, data));
  for (let w = list?.shift(); w; w = list?.shift()) {
    if (w.threadId !== -1) return w;
  }
  return undefined;
}

export class OrderedPool<J, R> {
  private workers: Worker[] = [];
  private ports: MessagePort[] = [];
  private signal = new Int32Array(new SharedArrayBuffer(4));
  private order: number[] = [];
  private done = new Map<number, Answer<R>>();
  private nextId = 0;
  /** the batch being filled, not yet sent */
  private outbox: { id: number; job: J }[] = [];
  private batches = 0;
  private failed?: Error;
  private inlineLeft: number;
  private closed = false;
  /** the cache keys of the jobs on the workers, stored with their results */
  private keys = new Map<number, string>();

  constructor(private spec: PoolSpec<J, R>) {
    this.inlineLeft = spec.workers > 0 ? (spec.inlineFirst ?? 0) : Infinity;
  }

  /** Jobs submitted whose results are not yet taken. */
  get pending(): number {
    return this.order.length;
  }

  /** Queues a job (the pool takes over its buffers: do not reuse them). */
  submit(job: J): void {
    if (this.failed) throw this.failed;
    const cache = this.spec.cache;
    const key = cache?.key(job);
    const payload = key === undefined ? undefined : cache!.store.get(key);
    const hit = payload && cache!.decode(payload, job);
    if (hit) return this.resolved(hit);
    if (this.inlineLeft > 0) {
      this.inlineLeft -= this.spec.jobBytes?.(job) ?? 0;
      const result = this.spec.inline(job);
      if (key !== undefined) cache!.store.put(key, cache!.encode(result));
      return this.resolved(result);
    }
    if (!this.workers.length) this.startWorkers();
    const id = this.nextId++;
    this.order.push(id);
    if (key !== undefined) this.keys.set(id, key);
    this.outbox.push({ id, job: owned(job, this.spec.lend ?? false) });
    if (this.outbox.length >= (this.spec.batch ?? 1)) this.send();
  }

  /** Sends the batch being filled to the next worker (round robin). */
  private send(): void {
    if (!this.outbox.length) return;
    const message: Jobs<J> = { jobs: this.outbox };
    this.outbox = [];
    this.workers[this.batches++ % this.workers.length]!.postMessage(
      message,
      transferList(message, this.spec.lend ?? false),
    );
  }

  /** A result known without a worker (e.g. from a cache): it takes its place in the order. */
  resolved(result: R): void {
    const id = this.nextId++;
    this.order.push(id);
    this.done.set(id, { id, result });
  }

  /** The result of the oldest job not yet taken, waiting for it (blocking) if needed. */
  next(): R {
    const id = this.oldest();
    if (!this.done.has(id)) this.send();
    while (!this.done.has(id)) this.receive(this.waitSync);
    return this.take(id);
  }

  /**
   * Whether the result of the oldest job not yet taken is in (nextAsync would not wait):
   * sends the batch being filled, as nextAsync does, and takes in the answers waiting.
   */
  poll(): boolean {
    const id = this.order[0];
    if (id === undefined || this.done.has(id) || this.failed) return true;
    this.send();
    this.drainAll();
    return this.done.has(id);
  }

  /** The result of the oldest job not yet taken; the event loop runs while it waits. */
  async nextAsync(): Promise<R> {
    const id = this.oldest();
    if (!this.done.has(id)) this.send();
    while (!this.done.has(id)) {
      // a pending wait does not keep Node alive: the workers do, while it lasts
      for (const w of this.workers) w.ref();
      try {
        await this.receiveAsync();
      } finally {
        for (const w of this.workers) w.unref();
      }
    }
    return this.take(id);
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) void w.terminate();
    this.workers = [];
    for (const port of this.ports) port.close();
    this.ports = [];
  }

  private oldest(): number {
    const id = this.order.shift();
    if (id === undefined) throw new Error(`${this.spec.name}: next() with no job submitted`);
    return id;
  }

  private take(id: number): R {
    const d = this.done.get(id)!;
    this.done.delete(id);
    if (d.error !== undefined) throw new Error(`${this.spec.name}: ${d.error}`);
    const key = this.keys.get(id);
    if (key !== undefined) {
      this.keys.delete(id);
      this.spec.cache!.store.put(key, this.spec.cache!.encode(d.result!));
    }
    return d.result!;
  }

  private startWorkers(): void {
    const url = compiledWorker(this.spec.from, this.spec.script);
    for (let i = 0; i < this.spec.workers; i++) {
      const channel = new MessageChannel();
      this.ports.push(channel.port1);
      const w = takeAhead(url, this.spec.data) ?? newWorker(url, this.spec.data);
      const attach: Attach = { results: channel.port2, signal: this.signal, lend: this.spec.lend ?? false };
      w.postMessage(attach, [channel.port2]);
      const name = `${this.spec.name}: compression worker ${i}`;
      w.on('error', (e) => this.fail(new Error(`${name} failed: ${e.message || e.name || String(e)}`)));
      w.on('exit', (code) => !this.closed && this.fail(new Error(`${name} exited with code ${code}`)));
      w.unref();
      this.workers.push(w);
    }
  }

  private fail(e: Error): void {
    this.failed ??= e;
    // wakes a waiting nextAsync (a blocked next() cannot see worker events: it times out)
    Atomics.add(this.signal, 0, 1);
    Atomics.notify(this.signal, 0);
  }

  private waitSync = (seen: number): boolean => Atomics.wait(this.signal, 0, seen, STALL_MS) !== 'timed-out';

  /** Takes every answer waiting; when there is none, waits for the next one. */
  private receive(wait: (seen: number) => boolean): void {
    if (this.failed) throw this.failed;
    const seen = Atomics.load(this.signal, 0);
    if (this.drainAll() === 0 && !wait(seen)) throw this.stalled();
  }

  private async receiveAsync(): Promise<void> {
    if (this.failed) throw this.failed;
    const seen = Atomics.load(this.signal, 0);
    if (this.drainAll() > 0) return;
    const w = waitAsync(this.signal, 0, seen, STALL_MS);
    if ((w.async ? await w.value : w.value) === 'timed-out') throw this.stalled();
  }

  private stalled(): Error {
    return new Error(
      `${this.spec.name}: no answer from the compression workers in ${STALL_MS / 1000} s (a worker died?)`,
    );
  }

  /** Stores every answer waiting on the ports; returns how many. */
  private drainAll(): number {
    let n = 0;
    for (const port of this.ports) {
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        for (const d of m.message as Answer<R>[]) this.done.set(d.id, d);
        n++;
      }
    }
    return n;
  }
}

/**
 * A Uint8Array that is its buffer, whole (and not a Node Buffer): it can be transferred.
 * `lend`: a view at the start of its buffer too (the whole buffer is transferred).
 */
function isOwned(b: Uint8Array, lend = false): boolean {
  return b.byteOffset === 0 && (lend || b.byteLength === b.buffer.byteLength) && !Buffer.isBuffer(b);
}

/**
 * `value` with every Uint8Array in it (in arrays and plain objects) in a buffer of its own:
 * `value` itself when they all are (nothing copied), else a copy with those replaced.
 */
export function owned<T>(value: T, lend = false): T {
  if (value instanceof Uint8Array) return (isOwned(value, lend) ? value : new Uint8Array(value)) as T;
  if (!value || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let list: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v !== 'object' || v === null) continue; // numbers (e.g. file ranges) are the common case
      const o = owned(v, lend);
      if (o !== v) (list ??= [...value])[i] = o;
    }
    return (list ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const o = owned(v, lend);
    if (o !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = o;
  }
  return (copy ?? value) as T;
}

/** The buffers of the owned Uint8Arrays in `value`, each once. */
function transferList(value: unknown, lend: boolean, into = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (value instanceof Uint8Array) {
    if (isOwned(value, lend) && value.buffer instanceof ArrayBuffer) into.add(value.buffer);
  } else if (value && typeof value === 'object') {
    for (const v of Array.isArray(value) ? value : Object.values(value))
      if (v && typeof v === 'object') transferList(v, lend, into);
  }
  return [...into];
}

/**
 * The body of a worker script: `setup` gets the pool's `data` and returns the job
 * function; every job's result (or error message) goes back on the results port.
 */
export async function serveJobs<D, J, R>(setup: (data: D) => ((job: J) => R) | Promise<(job: J) => R>): Promise<void> {
  const { data } = workerData as WorkerData;
  const work = await setup(data as D);
  const answer = (id: number, job: J, lend: boolean): Answer<R> => {
    try {
      return { id, result: owned(work(job), lend) };
    } catch (e) {
      return { id, error: (e as Error).message };
    }
  };
  // the pool's messages wait on the port until this listener starts it: first the Attach, then the jobs
  let to: Attach | undefined;
  parentPort!.on('message', (m: Attach | Jobs<J>) => {
    if (!('jobs' in m)) return void (to = m);
    const { results, signal, lend } = to!;
    const answers = m.jobs.map(({ id, job }) => answer(id, job, lend));
    results.postMessage(answers, transferList(answers, lend));
    Atomics.add(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
}
