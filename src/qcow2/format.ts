// qcow2 version 3, as QEMU's docs/interop/qcow2.txt defines it (the rules cited below
// are that file's sections). Every number is big-endian ("General"). Only what this
// writer uses is declared: one header, the end-of-extensions marker, and the 64-bit
// table entries (L1, L2, refcount table) with 16-bit refcounts.
import { defineStruct } from '../struct.js';

/** "Header": cluster_bits must be ≥ 9; 16 gives QEMU's default 64 KiB clusters. */
export const CLUSTER_BITS = 16;
export const CLUSTER = 1 << CLUSTER_BITS;
/** "Cluster mapping": an L2 table is one cluster of 8-byte entries. */
export const L2_ENTRIES = CLUSTER / 8;
/** "Header", refcount_order: refcount_bits = 1 << order; 4 = 16-bit refcounts (QEMU's default). */
export const REFCOUNT_ORDER = 4;
export const REFCOUNT_MAX = 0xffff;
/** "Host cluster management": refcount_block_entries = cluster_size * 8 / refcount_bits. */
export const REFCOUNT_BLOCK_ENTRIES = (CLUSTER * 8) / (1 << REFCOUNT_ORDER);
/** Compressed data is counted in 512-byte sectors ("Compressed Clusters Descriptor"). */
export const SECTOR = 512;

/** "QFI\xfb" ("Header", magic). */
export const MAGIC = 0x514649fb;

/**
 * "Header": fields 0–103 for version 3, then the additional field compression_type at
 * 104 ("Additional fields"; 0 = zlib), padded to a multiple of 8 ("Header padding"):
 * header_length = 112, as QEMU writes it.
 */
export const Header = defineStruct('qcow2 header', 112, {
  magic: [0, 'be32'],
  version: [4, 'be32'],
  backing_file_offset: [8, 'be64'],
  backing_file_size: [16, 'be32'],
  cluster_bits: [20, 'be32'],
  size: [24, 'be64'],
  crypt_method: [32, 'be32'],
  l1_size: [36, 'be32'],
  l1_table_offset: [40, 'be64'],
  refcount_table_offset: [48, 'be64'],
  refcount_table_clusters: [56, 'be32'],
  nb_snapshots: [60, 'be32'],
  snapshots_offset: [64, 'be64'],
  incompatible_features: [72, 'be64'],
  compatible_features: [80, 'be64'],
  autoclear_features: [88, 'be64'],
  refcount_order: [96, 'be32'],
  header_length: [100, 'be32'],
  compression_type: [104, 'u8'],
});

/** "Header extensions": type 0 ends the extension area (length 0, no data). */
export const HeaderExtension = defineStruct('qcow2 header extension', 8, {
  type: [0, 'be32'],
  length: [4, 'be32'],
});

/** A table entry: L1, L2 and refcount table entries are all one big-endian u64. */
export const TableEntry = defineStruct('qcow2 table entry', 8, { value: [0, 'be64'] });

/** A refcount block entry with refcount_order 4. */
export const RefcountEntry = defineStruct('qcow2 refcount entry', 2, { refcount: [0, 'be16'] });

/**
 * "Cluster mapping", L1 and L2 table entries: bit 63 (COPIED) = the refcount is exactly
 * one; bits 9–55 the cluster-aligned host offset. Standard L2 entries have bit 62 clear.
 */
const COPIED = 1n << 63n;
export function l1Entry(l2Offset: number): bigint {
  return BigInt(l2Offset) | COPIED;
}
export function standardL2Entry(hostOffset: number): bigint {
  return BigInt(hostOffset) | COPIED;
}

/**
 * "Compressed Clusters Descriptor" (x = 62 - (cluster_bits - 8)): bit 62 set, bits
 * 0..x-1 the byte offset of the data, bits x..61 the number of 512-byte sectors it
 * uses beyond the one holding its first byte. Bit 63 stays clear ("0 for clusters
 * that are ... compressed").
 */
export const COMPRESSED_OFFSET_BITS = 62 - (CLUSTER_BITS - 8);
export function compressedL2Entry(offset: number, length: number): bigint {
  const extra = Math.floor((offset + length - 1) / SECTOR) - Math.floor(offset / SECTOR);
  return (1n << 62n) | (BigInt(extra) << BigInt(COMPRESSED_OFFSET_BITS)) | BigInt(offset);
}

/**
 * The host bytes a compressed cluster is counted in (what `qemu-img check` counts):
 * from its offset to the end of its last sector.
 */
export function compressedSpan(offset: number, length: number): { from: number; to: number } {
  return { from: offset, to: (Math.floor((offset + length - 1) / SECTOR) + 1) * SECTOR };
}

/** "Refcount table entry": bits 9–63 the cluster-aligned offset of a refcount block. */
export function refcountTableEntry(blockOffset: number): bigint {
  return BigInt(blockOffset);
}
