// One guest cluster → its compressed form, in the form QEMU writes and reads
// (block/qcow2-threads.c, qcow2_compress / qcow2_decompress): raw deflate (no zlib
// header) with a 4 KiB window (windowBits -12: QEMU's decompressor takes no larger
// window), level 6 (Z_DEFAULT_COMPRESSION), the default strategy, one Z_FINISH call.
// QEMU uses memLevel 9; 8 here: with a 4 KiB window zlib re-slides its hash table every
// 4 KiB, and the smaller table makes pako about 30 % faster for 0.3 % more bytes
// (measured on /usr/bin). pako, not Node's zlib: the same bytes on every platform and
// Node version. QEMU keeps the result only when it fits in cluster_size - 1 bytes;
// otherwise the cluster is written uncompressed (null here).
import { deflateRaw } from 'pako';
import { CLUSTER } from './format.js';

export function compressCluster(cluster: Uint8Array): Uint8Array | null {
  const out = deflateRaw(cluster, { level: 6, windowBits: 12, memLevel: 8 });
  return out.length <= CLUSTER - 1 ? out : null;
}

/** A cluster as stored: its compressed bytes, or the cluster itself when compression does not shrink it. */
export interface Stored {
  bytes: Uint8Array;
  compressed: boolean;
}

/** The stored form, in a buffer of its own (so that a worker can transfer it). */
export function storedCluster(cluster: Uint8Array): Stored {
  const out = compressCluster(cluster);
  if (!out) return { bytes: cluster, compressed: false };
  const whole = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength;
  return { bytes: whole ? out : new Uint8Array(out), compressed: true };
}
