// Compression worker (worker_threads): receives blocks with a job id, answers with the
// compressed bytes, or the block itself flagged raw when compression does not shrink
// it. Buffers travel as transferred ArrayBuffers (no copies).
import { parentPort, workerData } from 'node:worker_threads';
import { loadCompressor } from './codec.js';

export interface Job {
  id: number;
  block: Uint8Array;
}

export interface Done {
  id: number;
  bytes: Uint8Array;
  raw: boolean;
}

const compress = await loadCompressor((workerData as { level: number }).level);
parentPort!.on('message', (job: Job) => {
  const out = compress(job.block);
  const done: Done = out ? { id: job.id, bytes: out, raw: false } : { id: job.id, bytes: job.block, raw: true };
  parentPort!.postMessage(done, [done.bytes.buffer as ArrayBuffer]);
});
parentPort!.postMessage('ready');
