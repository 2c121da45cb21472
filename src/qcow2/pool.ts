// The qcow2 compression pool: batches of clusters compressed on worker threads
// (src/worker-pool.ts), results taken in submission order, and kept by content in a
// CompressedCache when one is given.
import { codeVersion, CompressedCache } from '../compressed-cache.js';
import { OrderedPool, type PoolCache } from '../worker-pool.js';
import { type Stored, storedCluster } from './deflate.js';
import { CLUSTER } from './format.js';

export type ClusterPool = OrderedPool<Uint8Array[], Stored[]>;

/**
 * A stored batch: per cluster a u32 (little-endian) length of its compressed bytes, which
 * follow, or 0xFFFFFFFF for a cluster stored as it is (its bytes are the job's).
 */
const AS_IS = 0xffffffff;

function batchCache(store: CompressedCache): PoolCache<Uint8Array[], Stored[]> {
  const code = codeVersion(import.meta.url, ['./deflate.js', '../deflate/wasm.js', '../../wasm/zlib/zlib.wasm']);
  const tag = `qcow2 clusters size ${CLUSTER} code ${code}`;
  return {
    store,
    key: (clusters) => CompressedCache.key([tag, ...clusters]),
    encode: (stored) => {
      const parts: Uint8Array[] = [];
      for (const s of stored) {
        const len = Buffer.alloc(4);
        len.writeUInt32LE(s.compressed ? s.bytes.length : AS_IS);
        parts.push(len, ...(s.compressed ? [s.bytes] : []));
      }
      return Buffer.concat(parts);
    },
    decode: (payload, clusters) => {
      const b = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
      const out: Stored[] = [];
      let at = 0;
      for (const c of clusters) {
        if (at + 4 > b.length) return undefined;
        const len = b.readUInt32LE(at);
        at += 4;
        if (len === AS_IS) out.push({ bytes: c, compressed: false });
        else if (at + len <= b.length) out.push({ bytes: b.subarray(at, (at += len)), compressed: true });
        else return undefined;
      }
      return at === b.length ? out : undefined;
    },
  };
}

/** workers = 0 compresses on the calling thread. */
export function startClusterPool(workers: number, cache?: CompressedCache): ClusterPool {
  return new OrderedPool({
    name: 'qcow2',
    script: 'qcow2/worker.js',
    from: import.meta.url,
    workers,
    inline: (clusters) => clusters.map(storedCluster),
    cache: cache && batchCache(cache),
  });
}
