// Compression worker (worker_threads, src/worker-pool.ts): a block in, its stored form
// out (compressed, in the block's own buffer, or the block itself flagged raw when
// compression does not shrink it).
import { serveJobs } from '../worker-pool.js';
import { type Codec, loadCompressor } from './codec.js';
import { compressInPlace } from './pool.js';

await serveJobs(async (codec: Codec) => {
  const compress = await loadCompressor(codec);
  return (block: Uint8Array) => compressInPlace(compress, block);
});
