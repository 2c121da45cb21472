// Extent trees (kernel Documentation/filesystems/ext4/ifork.rst, fs/ext4/ext4_extents.h).
// A node is a 12-byte header (le16 magic 0xF30A, le16 entries, le16 max, le16 depth,
// le32 generation) then 12-byte entries: leaves (depth 0) hold extents (le32 first
// logical block, le16 length ≤ 32768, le16 start_hi, le32 start_lo), index nodes hold
// (le32 first logical block, le32 leaf_lo, le16 leaf_hi, le16 unused). The root lives in
// the inode's 60-byte i_block (max 4 entries); a tree block holds (4096 − 12) / 12 = 340
// and ends with a le32 crc32c tail (inode seed over the block before it) at 4092.

export const MAX_EXTENT_LEN = 32768;
const PER_BLOCK = Math.floor((4096 - 12) / 12);

export interface Extent {
  logical: number;
  physical: number;
  length: number;
}

/** How many tree blocks an extent list needs (0 when it fits in the inode). */
export function extentTreeBlocks(count: number): number {
  let total = 0;
  for (let level = count; level > 4; ) {
    level = Math.ceil(level / PER_BLOCK);
    total += level;
  }
  return total;
}

function header(buf: Buffer, at: number, entries: number, max: number, depth: number): void {
  buf.writeUInt16LE(0xf30a, at);
  buf.writeUInt16LE(entries, at + 2);
  buf.writeUInt16LE(max, at + 4);
  buf.writeUInt16LE(depth, at + 6);
  buf.writeUInt32LE(0, at + 8);
}

function putExtent(buf: Buffer, at: number, e: Extent): void {
  buf.writeUInt32LE(e.logical, at);
  buf.writeUInt16LE(e.length, at + 4);
  buf.writeUInt16LE(Math.floor(e.physical / 2 ** 32), at + 6);
  buf.writeUInt32LE(e.physical % 2 ** 32, at + 8);
}

function putIndex(buf: Buffer, at: number, logical: number, block: number): void {
  buf.writeUInt32LE(logical, at);
  buf.writeUInt32LE(block % 2 ** 32, at + 4);
  buf.writeUInt16LE(Math.floor(block / 2 ** 32), at + 8);
  buf.writeUInt16LE(0, at + 10);
}

/**
 * The inode's i_block and the tree blocks (checksum tails left zero), for extents in
 * logical order and tree blocks at the given physical numbers (extentTreeBlocks of them).
 */
export function extentTree(extents: Extent[], treeBlocks: number[]): { iblock: Buffer; blocks: { block: number; data: Buffer }[] } {
  const iblock = Buffer.alloc(60);
  const blocks: { block: number; data: Buffer }[] = [];
  // level: (first logical block, node) pairs, built bottom-up
  let level: { logical: number; write: (buf: Buffer, at: number) => void }[] = extents.map((e) => ({ logical: e.logical, write: (b, at) => putExtent(b, at, e) }));
  let depth = 0;
  let next = 0;
  while (level.length > 4) {
    const up: typeof level = [];
    for (let i = 0; i < level.length; i += PER_BLOCK) {
      const chunk = level.slice(i, i + PER_BLOCK);
      const data = Buffer.alloc(4096);
      header(data, 0, chunk.length, PER_BLOCK, depth);
      chunk.forEach((n, k) => n.write(data, 12 + 12 * k));
      const block = treeBlocks[next++];
      blocks.push({ block, data });
      up.push({ logical: chunk[0].logical, write: (b, at) => putIndex(b, at, chunk[0].logical, block) });
    }
    level = up;
    depth++;
  }
  header(iblock, 0, level.length, 4, depth);
  level.forEach((n, k) => n.write(iblock, 12 + 12 * k));
  return { iblock, blocks };
}
