// A raw disk image → qcow2 version 3 (./format.ts), streamed: the raw image is read a
// batch of clusters at a time; all-zero clusters (holes included) stay unallocated
// (an unallocated cluster without a backing file reads as zeros: "Cluster mapping");
// the others are stored compressed when `compress` is set and that makes them smaller,
// else as they are. Data comes first, from cluster 1 on, in guest order; the L2 tables,
// the L1 table, the refcount blocks and the refcount table follow it, and the header
// goes into cluster 0 last. Only the mapping (8 bytes per guest cluster) and the
// refcounts (one number per host cluster) are held in memory.
import { statSync } from 'node:fs';
import type { ImageSink } from '../artifact.js';
import type { CompressedCache } from '../compressed-cache.js';
import { ContentReader, fileContent } from '../tree/content.js';
import type { Stored } from './deflate.js';
import {
  CLUSTER,
  CLUSTER_BITS,
  compressedL2Entry,
  Header,
  HeaderExtension,
  L2_ENTRIES,
  MAGIC,
  REFCOUNT_ORDER,
  standardL2Entry,
} from './format.js';
import { writeMetadata } from './metadata.js';
import { type ClusterPool, startClusterPool } from './pool.js';
import { HostSpace } from './space.js';

export interface Qcow2Options {
  /** compressed clusters (deflate); default true */
  compress?: boolean;
  /** compression worker threads; 0 compresses on the calling thread */
  workers?: number;
  /** keeps compressed clusters by content (src/compressed-cache.ts), per batch of BATCH clusters */
  cache?: CompressedCache;
}

const BATCH = 16; // clusters read and compressed per job (1 MiB)
const ZERO = Buffer.alloc(CLUSTER);

interface Mapping {
  space: HostSpace;
  /** one L2 entry per guest cluster (0 = unallocated) */
  entries: BigUint64Array;
  out: ImageSink;
}

/** The non-zero clusters of one batch, each in a buffer of its own (zero-padded at the image's end). */
function readBatch(raw: ContentReader, first: number, size: number): { index: number; bytes: Uint8Array }[] {
  const from = first * CLUSTER;
  const buf = raw.read(from, Math.min(BATCH * CLUSTER, Math.ceil((size - from) / CLUSTER) * CLUSTER));
  if (!buf) return [];
  const out: { index: number; bytes: Uint8Array }[] = [];
  for (let k = 0; k * CLUSTER < buf.length; k++) {
    const c = buf.subarray(k * CLUSTER, (k + 1) * CLUSTER);
    if (!c.equals(ZERO)) out.push({ index: first + k, bytes: new Uint8Array(c) });
  }
  return out;
}

function place(m: Mapping, index: number, s: Stored): void {
  const at = s.compressed ? m.space.compressed(s.bytes.length) : m.space.clusters(1);
  m.out.writeAt(s.bytes, at);
  m.entries[index] = s.compressed ? compressedL2Entry(at, s.bytes.length) : standardL2Entry(at);
}

/** Reads, compresses (in order, `inFlight` batches ahead) and places every non-zero cluster. */
async function writeData(
  raw: ContentReader,
  size: number,
  m: Mapping,
  pool: ClusterPool | undefined,
  inFlight: number,
): Promise<void> {
  // the cluster indices of each batch submitted, in the order the pool gives the results
  const queue: number[][] = [];
  const settle = async () => {
    const indices = queue.shift()!;
    const stored = await pool!.nextAsync();
    indices.forEach((index, k) => place(m, index, stored[k]));
  };
  for (let first = 0; first * CLUSTER < size; first += BATCH) {
    const batch = readBatch(raw, first, size);
    const indices = batch.map((c) => c.index);
    const clusters = batch.map((c) => c.bytes);
    if (!pool) indices.forEach((index, k) => place(m, index, { bytes: clusters[k], compressed: false }));
    else {
      pool.submit(clusters);
      queue.push(indices);
    }
    while (queue.length > inFlight) await settle();
  }
  while (queue.length) await settle();
}

function writeHeader(
  out: ImageSink,
  size: number,
  l1: { offset: number; entries: number },
  refcounts: { offset: number; clusters: number },
): void {
  const header = Header.encode({
    magic: MAGIC,
    version: 3,
    cluster_bits: CLUSTER_BITS,
    size,
    l1_size: l1.entries,
    l1_table_offset: l1.offset,
    refcount_table_offset: refcounts.offset,
    refcount_table_clusters: refcounts.clusters,
    refcount_order: REFCOUNT_ORDER,
    header_length: Header.size,
    compression_type: 0, // zlib
  });
  out.writeAt(Buffer.concat([header, HeaderExtension.encode({ type: 0, length: 0 })]), 0);
}

/** Converts the raw image at `raw` into a qcow2 image written to `out`. */
export async function writeQcow2(raw: string, out: ImageSink, o: Qcow2Options = {}): Promise<void> {
  const size = statSync(raw).size;
  const reader = new ContentReader(fileContent(raw, size));
  const workers = o.workers ?? 0;
  const pool = o.compress === false ? undefined : startClusterPool(workers, o.cache);
  try {
    const space = new HostSpace();
    space.clusters(1); // the header
    const m: Mapping = { space, entries: new BigUint64Array(Math.ceil(size / CLUSTER)), out };
    await writeData(reader, size, m, pool, Math.max(2, workers * 2));
    const meta = writeMetadata(space, m.entries, out, Math.max(1, Math.ceil(m.entries.length / L2_ENTRIES)));
    writeHeader(out, size, meta.l1, meta.refcounts);
    out.setSize(space.end);
  } finally {
    reader.close();
    pool?.close();
  }
}
