// Deflate worker (worker_threads, src/worker-pool.ts): a chunk in, its piece of the raw
// deflate stream out.
import { serveJobs } from '../worker-pool.js';
import type { DeflateJob } from './pool.js';
import { type DeflateSettings, deflateChunk } from './raw.js';

await serveJobs(
  (settings: DeflateSettings) => (job: DeflateJob) => deflateChunk(job.data, settings, job.last, job.dictionary),
);
