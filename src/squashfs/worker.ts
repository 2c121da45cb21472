// Compression worker (worker_threads, src/worker-pool.ts): a block in, its stored form
// out (compressed, or the block itself flagged raw when compression does not shrink it).
import { serveJobs } from '../worker-pool.js';
import { type Codec, loadCompressor } from './codec.js';
import { compressBlock } from './pool.js';

await serveJobs(async (codec: Codec) => {
  const compress = await loadCompressor(codec);
  return (block: Uint8Array) => compressBlock(compress, block);
});
