// Extent trees (kernel Documentation/filesystems/ext4/ifork.rst, fs/ext4/ext4_extents.h;
// structures in format.ts). A node is an ext4_extent_header then 12-byte entries: leaves
// (depth 0) hold ext4_extent (length ≤ 32768), index nodes ext4_extent_idx. The root
// lives in the inode's 60-byte i_block (4 entries); a tree block holds (4096 − 12) / 12
// = 340 and ends with an ext4_extent_tail (crc32c from the inode seed over the block
// before it, filled by sealExtentBlock).
import { crc32c } from './crc32c.js';
import {
  BLOCK,
  EXT4_EXT_MAGIC,
  EXTENT,
  EXTENT_HEADER,
  EXTENT_IDX,
  EXTENT_TAIL,
  hi32,
  IBLOCK_SIZE,
  lo32,
} from './format.js';

const ENTRY = EXTENT.size;
/** entries in i_block and in a tree block (ext4_ext_space_root, ext4_ext_space_block) */
const PER_ROOT = (IBLOCK_SIZE - EXTENT_HEADER.size) / ENTRY;
const PER_BLOCK = Math.floor((BLOCK - EXTENT_HEADER.size - EXTENT_TAIL.size) / ENTRY);
/** where a tree block's tail sits: after eh_max entries (EXT4_EXTENT_TAIL_OFFSET) */
const TAIL_AT = EXTENT_HEADER.size + PER_BLOCK * ENTRY;

export interface Extent {
  logical: number;
  physical: number;
  length: number;
}

/** How many tree blocks an extent list needs (0 when it fits in the inode). */
export function extentTreeBlocks(count: number): number {
  let total = 0;
  for (let level = count; level > PER_ROOT;) {
    level = Math.ceil(level / PER_BLOCK);
    total += level;
  }
  return total;
}

/** A node's entries and who writes them. */
type Entry = { logical: number; write: (buf: Buffer, at: number) => void };

const extentEntry = (e: Extent): Entry => ({
  logical: e.logical,
  write: (b, at) =>
    EXTENT.encode(
      { ee_block: e.logical, ee_len: e.length, ee_start_hi: hi32(e.physical), ee_start_lo: lo32(e.physical) },
      b,
      at,
    ),
});

const indexEntry = (logical: number, block: number): Entry => ({
  logical,
  write: (b, at) => EXTENT_IDX.encode({ ei_block: logical, ei_leaf_lo: lo32(block), ei_leaf_hi: hi32(block) }, b, at),
});

function putNode(buf: Buffer, entries: Entry[], max: number, depth: number): void {
  EXTENT_HEADER.encode({ eh_magic: EXT4_EXT_MAGIC, eh_entries: entries.length, eh_max: max, eh_depth: depth }, buf, 0);
  entries.forEach((n, k) => n.write(buf, EXTENT_HEADER.size + ENTRY * k));
}

/**
 * The inode's i_block and the tree blocks (checksum tails left zero), for extents in
 * logical order and tree blocks at the given physical numbers (extentTreeBlocks of them).
 */
export function extentTree(
  extents: Extent[],
  treeBlocks: number[],
): { iblock: Buffer; blocks: { block: number; data: Buffer }[] } {
  const iblock = Buffer.alloc(IBLOCK_SIZE);
  const blocks: { block: number; data: Buffer }[] = [];
  // built bottom-up, a level at a time
  let level = extents.map(extentEntry);
  let depth = 0;
  while (level.length > PER_ROOT) {
    const up: Entry[] = [];
    for (let i = 0; i < level.length; i += PER_BLOCK) {
      const chunk = level.slice(i, i + PER_BLOCK);
      const data = Buffer.alloc(BLOCK);
      putNode(data, chunk, PER_BLOCK, depth);
      const block = treeBlocks[blocks.length];
      blocks.push({ block, data });
      up.push(indexEntry(chunk[0].logical, block));
    }
    level = up;
    depth++;
  }
  putNode(iblock, level, PER_ROOT, depth);
  return { iblock, blocks };
}

/** Fills a tree block's ext4_extent_tail, given the inode's checksum seed. */
export function sealExtentBlock(data: Buffer, inodeSeed: number): void {
  EXTENT_TAIL.encode({ et_checksum: crc32c(inodeSeed, data, 0, TAIL_AT) }, data, TAIL_AT);
}
