// Compression worker (worker_threads): receives blocks with a job id, answers with the
// compressed bytes, or the block itself flagged raw when compression does not shrink
// it. Results travel as transferred ArrayBuffers; a result that is a view into a shared
// buffer (a Node Buffer may sit in Node's pool, which Node 22+ refuses to transfer) is copied
// into its own buffer first.
import { parentPort, workerData } from 'node:worker_threads';
import { type Codec, loadCompressor } from './codec.js';

export interface Job {
  id: number;
  block: Uint8Array;
}

export interface Done {
  id: number;
  bytes: Uint8Array;
  raw: boolean;
}

const compress = await loadCompressor(workerData as Codec);
parentPort!.on('message', (job: Job) => {
  const out = compress(job.block);
  const bytes = out ?? job.block;
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !Buffer.isBuffer(bytes);
  const owned = whole ? bytes : new Uint8Array(bytes);
  const done: Done = { id: job.id, bytes: owned, raw: !out };
  parentPort!.postMessage(done, [done.bytes.buffer as ArrayBuffer]);
});
parentPort!.postMessage('ready');
