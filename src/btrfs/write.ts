// The btrfs writer: tree → a filesystem image in one pass, no mkfs.btrfs, no mount.
// 1. Number the inodes and place every file's data extents in the DATA chunks (layout.ts).
// 2. Stream the data into the image, one crc32c per sector for the checksum tree.
// 3. Build the filesystem tree's items; the UUIDs come from a digest of those items and
//    of the data, so equal trees give equal images (no clock, no randomness).
// 4. Pack the other trees, whose sizes depend on each other's block counts (the extent
//    tree lists every tree block, the free-space tree what is left), until the counts settle.
// 5. Write every tree block and the superblock with its mirrors.
import { createHash, type Hash } from 'node:crypto';
import type { ImageSink } from '../artifact.js';
import { readRange } from '../tree/content.js';
import { checkLimits } from '../tree/limits.js';
import { contentOf, type Time, type Tree } from '../tree/tree.js';
import { type BlockContext, encodeTree, type Packed, pack } from './btree.js';
import { csum } from './checksum.js';
import { NODE, OBJ, SECTOR } from './format.js';
import { fsTreeItems } from './fs-items.js';
import { type Inode, numberInodes, placeData } from './inodes.js';
import { BTRFS_LIMITS } from './limits.js';
import { DATA_CHUNK_MAX, DATA_START, MIB, type Run, Space } from './layout.js';
import { copiesOf, csumTreeItems, type DataExtent, type Ids } from './meta-items.js';
import { planMetadata } from './plan.js';
import { writeSupers } from './super.js';

export interface BtrfsOptions {
  /** free space added on top of what the tree needs, in MiB; 0 = Fledge's auto rule (src/ext4/sizing.ts) */
  sizeBufferMb: number;
  /** write every byte (true) or leave what holds nothing as holes (false) */
  preallocate: boolean;
  /** the filesystem's creation time (the subvolume's ctime/otime) */
  epoch: Time;
}

/** All of btrfs' generation numbers: one transaction made everything. */
const GENERATION = 1;
const CHUNK = 8 * MIB;

/** Streams one extent of a file into the image; returns the crc32c of each of its sectors. */
function writeExtent(out: ImageSink, i: Inode, e: Inode['extents'][number], hash: Hash): Uint32Array {
  const content = contentOf(i.node);
  const csums = new Uint32Array(e.length / SECTOR);
  for (let off = 0; off < e.length; off += CHUNK) {
    const n = Math.min(CHUNK, e.length - off);
    const buf = Buffer.alloc(n);
    let at = 0;
    const start = e.fileOffset + off;
    for (const piece of readRange(content, start, Math.min(start + n, content.size))) {
      buf.set(piece, at);
      at += piece.length;
    }
    hash.update(buf);
    for (let s = 0; s < n; s += SECTOR) csums[(off + s) / SECTOR] = csum(buf, s, s + SECTOR);
    out.writeAt(buf, e.bytenr + off);
  }
  return csums;
}

function writeData(
  out: ImageSink,
  inodes: Inode[],
  hash: Hash,
): { extents: DataExtent[]; csums: { bytenr: number; csums: Uint32Array }[] } {
  const extents: DataExtent[] = [];
  const csums: { bytenr: number; csums: Uint32Array }[] = [];
  for (const i of inodes) {
    for (const e of i.extents) {
      csums.push({ bytenr: e.bytenr, csums: writeExtent(out, i, e, hash) });
      extents.push({ bytenr: e.bytenr, length: e.length, ino: i.ino, fileOffset: e.fileOffset });
    }
  }
  return { extents, csums };
}

/** fsid, device, chunk-tree and subvolume UUIDs from one digest, shaped as version-4 UUIDs. */
function deriveIds(fsTree: Packed, dataHash: Hash): Ids {
  const h = createHash('sha256').update(dataHash.digest());
  for (const it of fsTree.items) h.update(it.data);
  const seed = h.digest();
  const uuid = (tag: string) => {
    const u = createHash('sha256').update(seed).update(tag).digest().subarray(0, 16);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    return Buffer.from(u);
  };
  return {
    fsid: uuid('fsid'),
    devUuid: uuid('dev'),
    chunkTreeUuid: uuid('chunk-tree'),
    fsTreeUuid: uuid('fs-tree'),
    generation: GENERATION,
  };
}

/** Writes zeros wherever nothing was written (preallocate), in pieces of at most 8 MiB. */
function fillGaps(out: ImageSink, written: Run[], size: number): void {
  const zeros = Buffer.alloc(CHUNK);
  let at = 0;
  const fill = (end: number) => {
    for (; at < end; at = Math.min(end, at + CHUNK)) out.writeAt(zeros.subarray(0, Math.min(CHUNK, end - at)), at);
  };
  for (const r of [...written].sort((a, b) => a.start - b.start)) {
    fill(r.start);
    at = Math.max(at, r.start + r.length);
  }
  fill(size);
}

export function writeBtrfs(tree: Tree, out: ImageSink, o: BtrfsOptions): void {
  checkLimits(tree, BTRFS_LIMITS);
  const inodes = numberInodes(tree);
  const space = new Space(DATA_START, DATA_START, DATA_CHUNK_MAX);
  placeData(inodes, space);
  const dataHash = createHash('sha256');
  const data = writeData(out, inodes, dataHash);
  const fsTree = pack(OBJ.FS_TREE, fsTreeItems(inodes, GENERATION));
  const csumTree = pack(OBJ.CSUM_TREE, csumTreeItems(data.csums));
  const ids = deriveIds(fsTree, dataHash);
  const plan = planMetadata({
    dataEnd: space.next,
    data: data.extents,
    fsTree,
    csumTree,
    ids,
    epoch: o.epoch,
    sizeBufferMb: o.sizeBufferMb,
  });
  const ctx: BlockContext = { fsid: ids.fsid, chunkTreeUuid: ids.chunkTreeUuid, generation: GENERATION };
  const written: Run[] = data.extents.map((e) => ({ start: e.bytenr, length: e.length }));
  for (const t of plan.trees) {
    encodeTree(t.packed, t.addrs, ctx, (bytenr, block) => {
      for (const at of copiesOf(plan.chunks, bytenr)) {
        out.writeAt(block, at);
        written.push({ start: at, length: NODE });
      }
    });
  }
  written.push(...writeSupers(out, plan, ids));
  if (o.preallocate) fillGaps(out, written, plan.devSize);
  out.setSize(plan.devSize);
}
