// The qcow2 compression pool: batches of clusters compressed on worker threads
// (src/worker-pool.ts), results taken in submission order.
import { OrderedPool } from '../worker-pool.js';
import { type Stored, storedCluster } from './deflate.js';

export type ClusterPool = OrderedPool<Uint8Array[], Stored[]>;

/** workers = 0 compresses on the calling thread. */
export function startClusterPool(workers: number): ClusterPool {
  return new OrderedPool({
    name: 'qcow2',
    script: 'qcow2/worker.js',
    from: import.meta.url,
    workers,
    inline: (clusters) => clusters.map(storedCluster),
  });
}
