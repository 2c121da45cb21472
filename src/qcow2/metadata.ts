// The tables written after the data: L2 tables (only for L1 entries that map some
// cluster: "If the offset is 0, the L2 table and all clusters described by this L2
// table are unallocated"), the L1 table (contiguous), then the refcount blocks and
// the refcount table ("it needs to be contiguous"), sized so that they also count
// themselves.
import type { ImageSink } from '../artifact.js';
import {
  CLUSTER,
  L2_ENTRIES,
  l1Entry,
  REFCOUNT_BLOCK_ENTRIES,
  RefcountEntry,
  refcountTableEntry,
  TableEntry,
} from './format.js';
import type { HostSpace } from './space.js';

export interface Metadata {
  l1: { offset: number; entries: number };
  refcounts: { offset: number; clusters: number };
}

/** A table of 64-bit entries, padded to whole clusters. */
function table(values: ArrayLike<bigint>, clusters: number): Buffer {
  const buf = Buffer.alloc(clusters * CLUSTER);
  for (let i = 0; i < values.length; i++)
    if (values[i]) TableEntry.encode({ value: values[i] }, buf, i * TableEntry.size);
  return buf;
}

function writeTables(space: HostSpace, entries: BigUint64Array, out: ImageSink, l1Size: number): Metadata['l1'] {
  const l1 = new BigUint64Array(l1Size);
  for (let i = 0; i < l1Size; i++) {
    const l2 = entries.subarray(i * L2_ENTRIES, (i + 1) * L2_ENTRIES);
    if (!l2.some((e) => e !== 0n)) continue;
    const at = space.clusters(1);
    out.writeAt(table(l2, 1), at);
    l1[i] = l1Entry(at);
  }
  const clusters = Math.ceil((l1Size * TableEntry.size) / CLUSTER);
  const offset = space.clusters(clusters);
  out.writeAt(table(l1, clusters), offset);
  return { offset, entries: l1Size };
}

/** Refcount blocks and table clusters enough for every cluster, themselves included. */
function refcountSizes(usedClusters: number): { blocks: number; tableClusters: number } {
  let blocks = 0;
  let tableClusters = 0;
  for (;;) {
    const needBlocks = Math.ceil((usedClusters + blocks + tableClusters) / REFCOUNT_BLOCK_ENTRIES);
    const needTable = Math.ceil((needBlocks * TableEntry.size) / CLUSTER);
    if (needBlocks === blocks && needTable === tableClusters) return { blocks, tableClusters };
    blocks = needBlocks;
    tableClusters = needTable;
  }
}

function writeRefcounts(space: HostSpace, out: ImageSink): Metadata['refcounts'] {
  const { blocks, tableClusters } = refcountSizes(space.end / CLUSTER);
  const first = space.clusters(blocks);
  const offset = space.clusters(tableClusters);
  const counts = space.refcounts;
  for (let b = 0; b < blocks; b++) {
    const buf = Buffer.alloc(CLUSTER);
    const from = b * REFCOUNT_BLOCK_ENTRIES;
    for (let i = 0; i < REFCOUNT_BLOCK_ENTRIES && from + i < counts.length; i++)
      RefcountEntry.encode({ refcount: counts[from + i] ?? 0 }, buf, i * RefcountEntry.size);
    out.writeAt(buf, first + b * CLUSTER);
  }
  const tableEntries = Array.from({ length: blocks }, (_, b) => refcountTableEntry(first + b * CLUSTER));
  out.writeAt(table(tableEntries, tableClusters), offset);
  return { offset, clusters: tableClusters };
}

/** Writes the mapping and refcount tables after the data; returns where they are. */
export function writeMetadata(space: HostSpace, entries: BigUint64Array, out: ImageSink, l1Size: number): Metadata {
  const l1 = writeTables(space, entries, out, l1Size);
  return { l1, refcounts: writeRefcounts(space, out) };
}
