// Compression worker (worker_threads, src/worker-pool.ts): a block in (its bytes, or the
// file ranges to read into its buffer), its stored form out (compressed, in the block's
// own buffer, or the block itself flagged raw when compression does not shrink it, or
// flagged sparse when a full block read all zeros).
import { serveJobs } from '../worker-pool.js';
import { type Codec, loadCompressor } from './codec.js';
import { type BlockJob, compressJob } from './block-job.js';

await serveJobs(async (codec: Codec) => {
  const compress = await loadCompressor(codec, true);
  return (job: BlockJob) => compressJob(compress, job);
});
