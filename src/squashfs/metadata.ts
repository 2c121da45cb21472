// Metadata blocks and lookup tables (squashfs-tools-ng doc/format.adoc, "Packing
// Metadata" and "Storing Lookup Tables"; kernel fs/squashfs/cache.c, squashfs_read_metadata).
//
// Metadata (inodes, directories, tables) is a stream cut into 8 KiB pieces; each piece
// is stored as a u16 header + payload. The header's low 15 bits are the stored size,
// bit 15 set means stored raw (when compression does not shrink the piece). A reference
// into such a stream is (position of the block's header relative to the table start)
// << 16 | offset inside the uncompressed block — the real on-disk position, so it is
// known only once the blocks before it are compressed.
//
// A lookup table (fragments, export, ids, xattr ids) is its entries in metadata blocks,
// followed by a plain array of u64 absolute positions of those blocks; the superblock
// points at that array.
import type { BlockCompressor } from './codec.js';
import {
  encodeArray,
  META_HEADER,
  metaRef,
  META_UNCOMPRESSED,
  SQFS_META_BLOCK_SIZE as METADATA_SIZE,
  TABLE_LOCATION,
} from './format.js';

export interface MetaPos {
  /** position of the current block's header, relative to the table start */
  block: number;
  /** offset inside the uncompressed block */
  offset: number;
}

export class MetaWriter {
  private blocks: Uint8Array[] = [];
  private stored = 0;
  private emitted = 0;
  private pending: Buffer[] = [];
  private pendingSize = 0;

  constructor(private compress: BlockCompressor) {}

  /** Where the next byte appended will be. */
  pos(): MetaPos {
    return { block: this.stored, offset: this.pendingSize };
  }

  /** The reference of the next byte: block << 16 | offset. */
  ref(): number {
    return metaRef(this.stored, this.pendingSize);
  }

  /** Bytes of uncompressed stream appended so far. */
  get length(): number {
    return this.emitted * METADATA_SIZE + this.pendingSize;
  }

  /** Appends bytes, cutting full 8 KiB blocks as they fill (linear: a 32 MiB inode is not recopied per block). */
  append(bytes: Uint8Array): void {
    let rest = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    while (this.pendingSize + rest.length >= METADATA_SIZE) {
      const take = METADATA_SIZE - this.pendingSize;
      this.pending.push(rest.subarray(0, take));
      this.emit(Buffer.concat(this.pending, METADATA_SIZE));
      this.pending = [];
      this.pendingSize = 0;
      rest = rest.subarray(take);
    }
    if (rest.length) {
      this.pending.push(rest);
      this.pendingSize += rest.length;
    }
  }

  private emit(chunk: Uint8Array): void {
    const c = this.compress(chunk);
    const head = META_HEADER.encode({ size: c ? c.length : chunk.length | META_UNCOMPRESSED });
    this.blocks.push(head, c ?? Uint8Array.from(chunk));
    this.stored += head.length + (c ? c.length : chunk.length);
    this.emitted++;
  }

  /** Flushes the last partial block; returns the stored stream. */
  finish(): Buffer {
    if (this.pendingSize) this.emit(Buffer.concat(this.pending, this.pendingSize));
    this.pending = [];
    this.pendingSize = 0;
    return Buffer.concat(this.blocks);
  }
}

/**
 * Entries cut into metadata blocks placed at `start`: the blocks and the u64 absolute
 * position of each (what a lookup table, or the xattr id table header, lists).
 */
export function metaBlocks(
  entries: Buffer,
  start: number,
  compress: BlockCompressor,
): { blocks: Buffer; locations: Buffer } {
  const meta = new MetaWriter(compress);
  const positions: number[] = [];
  for (let o = 0; o < entries.length; o += METADATA_SIZE) {
    positions.push(start + meta.pos().block);
    meta.append(entries.subarray(o, o + METADATA_SIZE));
  }
  return { blocks: meta.finish(), locations: encodeArray(TABLE_LOCATION, 'start', positions) };
}

/**
 * A lookup table placed at `start`: returns its bytes and the absolute position of its
 * u64 block-position array (what the superblock stores). Empty tables have no blocks:
 * the position is `start` itself.
 */
export function lookupTable(
  entries: Buffer,
  start: number,
  compress: BlockCompressor,
): { bytes: Buffer; listAt: number } {
  const { blocks, locations } = metaBlocks(entries, start, compress);
  return { bytes: Buffer.concat([blocks, locations]), listAt: start + blocks.length };
}
