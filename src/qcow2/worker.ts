// Cluster compression worker (worker_threads, src/worker-pool.ts): a batch of clusters
// in, each cluster as stored (storedCluster) out.
import { serveJobs } from '../worker-pool.js';
import { storedCluster } from './deflate.js';

await serveJobs(() => (clusters: Uint8Array[]) => clusters.map(storedCluster));
