// One guest cluster → its compressed form, exactly as QEMU writes it (block/qcow2-threads.c,
// qcow2_compress; read back by qcow2_decompress with inflateInit2(-12)): raw deflate (no
// zlib header), deflateInit2(Z_DEFAULT_COMPRESSION = level 6, Z_DEFLATED, windowBits -12
// = a 4 KiB window, memLevel 9, Z_DEFAULT_STRATEGY), one Z_FINISH call into a buffer of
// cluster_size - 1 bytes (block/qcow2.c, qcow2_co_pwritev_compressed_task): when the
// stream does not end there, the cluster does not shrink and is stored as it is (null
// here), as QEMU does. The deflate is zlib itself built to WebAssembly (../deflate/wasm.ts):
// the same bytes on every platform and Node version, and for each cluster the bytes of a
// qemu-img linked with the same zlib release.
import { zlibDeflate, Z_FINISH } from '../deflate/wasm.js';
import { CLUSTER } from './format.js';

const QEMU = { level: 6, windowBits: 12, memLevel: 9, flush: Z_FINISH, outputCapacity: CLUSTER - 1, pako: false };

/** The cluster's raw deflate stream, or null when it takes cluster_size - 1 bytes or more. */
export function compressCluster(cluster: Uint8Array): Uint8Array | null {
  return zlibDeflate(cluster, QEMU);
}

/** A cluster as stored: its compressed bytes, or the cluster itself when compression does not shrink it. */
export interface Stored {
  bytes: Uint8Array;
  compressed: boolean;
}

/** The stored form, in a buffer of its own (so that a worker can transfer it). */
export function storedCluster(cluster: Uint8Array): Stored {
  const out = compressCluster(cluster);
  return out ? { bytes: out, compressed: true } : { bytes: cluster, compressed: false };
}
