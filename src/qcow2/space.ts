// Host space of a qcow2 file being written: hands out whole clusters (metadata and
// uncompressed data) and byte runs for compressed data, and keeps every host
// cluster's refcount ("Host cluster management": the number of references to it).
// Compressed data is packed byte after byte, as QEMU packs it; a run may continue
// into the next cluster only when that cluster is the next one handed out ("Some of
// these sectors may reside in the next contiguous host cluster"), else it starts a
// new cluster. A compressed run counts once in every cluster its sectors touch.
import { CLUSTER, compressedSpan, REFCOUNT_MAX } from './format.js';

export class HostSpace {
  /** the end of the clusters handed out (cluster-aligned): the next free cluster */
  end = 0;
  /** where the next compressed run goes; a multiple of CLUSTER means no open cluster */
  private cursor = 0;
  readonly refcounts: number[] = [];

  /** `n` contiguous clusters, each referenced once; returns the first one's offset. */
  clusters(n = 1): number {
    const at = this.end;
    this.end += n * CLUSTER;
    for (let i = 0; i < n; i++) this.ref(at / CLUSTER + i);
    return at;
  }

  /** Room for `length` bytes of compressed data; returns its byte offset. */
  compressed(length: number): number {
    const clusterEnd = Math.floor(this.cursor / CLUSTER) * CLUSTER + CLUSTER;
    const open = this.cursor % CLUSTER !== 0;
    const fits = this.cursor + length <= clusterEnd || clusterEnd === this.end;
    const at = open && fits ? this.cursor : this.end;
    this.cursor = at + length;
    this.end = Math.max(this.end, Math.ceil(this.cursor / CLUSTER) * CLUSTER);
    const span = compressedSpan(at, length);
    for (let c = Math.floor(span.from / CLUSTER); c * CLUSTER < span.to; c++) this.ref(c);
    return at;
  }

  private ref(cluster: number): void {
    const n = (this.refcounts[cluster] ?? 0) + 1;
    if (n > REFCOUNT_MAX)
      throw new Error(`qcow2: host cluster ${cluster} would be referenced more than ${REFCOUNT_MAX} times`);
    this.refcounts[cluster] = n;
  }
}
