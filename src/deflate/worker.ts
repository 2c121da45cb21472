// Deflate worker (worker_threads): compresses the jobs it is sent, in order, and answers
// on the results port it was given, then bumps the shared counter and wakes the pool,
// which may be waiting synchronously (Atomics.wait) for that answer.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { type DeflateSettings, deflateChunk } from './raw.js';

export interface DeflateJob {
  id: number;
  data: Uint8Array;
  dictionary?: Uint8Array;
  last: boolean;
}

export interface DeflateDone {
  id: number;
  bytes?: Uint8Array;
  error?: string;
}

export interface DeflateWorkerData {
  settings: DeflateSettings;
  results: MessagePort;
  /** one Int32 counter, bumped after every answer */
  signal: Int32Array;
}

const { settings, results, signal } = workerData as DeflateWorkerData;

function answer(done: DeflateDone): void {
  const b = done.bytes;
  // a view into a larger (or pooled) buffer is copied into its own to be transferred
  const own =
    b && (b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength || Buffer.isBuffer(b)) ? new Uint8Array(b) : b;
  results.postMessage({ ...done, bytes: own }, own ? [own.buffer as ArrayBuffer] : []);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

parentPort!.on('message', (job: DeflateJob) => {
  try {
    answer({ id: job.id, bytes: deflateChunk(job.data, settings, job.last, job.dictionary) });
  } catch (e) {
    answer({ id: job.id, error: (e as Error).message });
  }
});
