// Each allocation group's headers and btrees (xfs_format.h; XFS book "Allocation Groups",
// "AG Free Space Management", "AG Inode Management"): in block 0 the superblock (AG 0's
// is the primary, the others are identical secondary copies), AGF, AGI and AGFL, one
// sector each; the free-space btrees by block and by count, the inode and free-inode
// btrees and the (empty) refcount btree, roots in blocks 1-5; the log in its AG.
import type { BlockWriter } from '../block-writer.js';
import { type BtreeShape, buildBtree, leafMax } from './btree.js';
import { sealCrc } from './crc.js';
import {
  AGF,
  AGF_MAGIC,
  AGFL,
  AGFL_FILL,
  AGFL_MAGIC,
  AGI,
  AGI_MAGIC,
  ALLOC_REC,
  BLOCK,
  BLOCK_LOG,
  CHUNK_BLOCKS,
  INODE_SIZE,
  INODES_PER_BLOCK,
  INODES_PER_CHUNK,
  MAGIC,
  NULLAGINO,
  SB_FEATURES2,
  SB_INCOMPAT,
  SB_MAGIC,
  SB_RO_COMPAT,
  SB_VERSION,
  SBTREE,
  SECTOR,
  SUPER,
  INOBT_REC,
} from './format.js';
import { type Geometry, ROOTS, type Run } from './geometry.js';
import { cleanLog } from './log.js';
import { INOBT, type Layout } from './plan.js';

const SECTORS = BLOCK / SECTOR;
const ALLOC = (magic: number): BtreeShape => ({ magic, recSize: 8, keySize: 8, ptrSize: 4 });

export interface SuperFields {
  uuid: Buffer;
  rootino: number;
  icount: number;
  inodes: number;
  preallocate: boolean;
}

interface AgState {
  free: Run[];
  chunks: number[];
}

/** Free extents (AG-relative, by start) and inode chunks of every AG. */
export function agStates(layout: Layout): AgState[] {
  const { geo } = layout;
  return Array.from({ length: geo.agcount }, (_, a) => {
    const start = a * geo.agblocks;
    const end = start + geo.agLength(a);
    const free = layout.gaps
      .filter((g) => g.start >= start && g.start < end)
      .map((g) => ({ start: g.start - start, length: g.length }));
    const tail = Math.max(layout.end, start + geo.reservedIn(a));
    if (tail < end) free.push({ start: tail - start, length: end - tail });
    const chunks = layout.chunks.filter((c) => c >= start && c < end).map((c) => c - start);
    return { free, chunks };
  });
}

function sealShort(w: BlockWriter, geo: Geometry, a: number, uuid: Buffer, at: number, data: Buffer): void {
  const linear = a * geo.agblocks + at;
  SBTREE.encode({ blkno: linear * SECTORS, uuid, owner: a }, data);
  sealCrc(data, SBTREE.fields.crc[0]);
  w.write(linear, data);
}

/** A single-leaf btree at `root`. */
function leafTree(
  w: BlockWriter,
  geo: Geometry,
  a: number,
  uuid: Buffer,
  shape: BtreeShape,
  root: number,
  recs: Buffer[],
): void {
  if (recs.length > leafMax(shape)) throw new Error(`xfs: AG ${a}: ${recs.length} records do not fit one btree leaf`);
  for (const b of buildBtree(shape, recs, [root], BigInt).blocks) sealShort(w, geo, a, uuid, b.at, b.data);
}

function inobtRecs(chunks: number[], firstChunk: number, inodes: number): Buffer[] {
  return chunks.map((c, k) => {
    const used = Math.max(0, Math.min(INODES_PER_CHUNK, inodes - (firstChunk + k) * INODES_PER_CHUNK));
    const free = used === INODES_PER_CHUNK ? 0n : ((1n << 64n) - 1n) ^ ((1n << BigInt(used)) - 1n);
    return INOBT_REC.encode({
      startino: c * INODES_PER_BLOCK,
      holemask: 0,
      count: INODES_PER_CHUNK,
      freecount: INODES_PER_CHUNK - used,
      free,
    });
  });
}

function superblock(geo: Geometry, f: SuperFields, fdblocks: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  SUPER.encode(
    {
      magicnum: SB_MAGIC,
      blocksize: BLOCK,
      dblocks: geo.dblocks,
      uuid: f.uuid,
      logstart: geo.fsb(geo.logAg * geo.agblocks + geo.logAgbno),
      rootino: f.rootino,
      rbmino: f.rootino + 1,
      rsumino: f.rootino + 2,
      rextsize: 1,
      agblocks: geo.agblocks,
      agcount: geo.agcount,
      logblocks: geo.logBlocks,
      versionnum: SB_VERSION,
      sectsize: SECTOR,
      inodesize: INODE_SIZE,
      inopblock: INODES_PER_BLOCK,
      blocklog: BLOCK_LOG,
      sectlog: 9,
      inodelog: 9,
      inopblog: 3,
      agblklog: geo.agblklog,
      imax_pct: 25,
      icount: f.icount,
      ifree: f.icount - f.inodes,
      fdblocks,
      inoalignmt: CHUNK_BLOCKS,
      logsunit: 1,
      features2: SB_FEATURES2,
      bad_features2: SB_FEATURES2,
      features_ro_compat: SB_RO_COMPAT,
      features_incompat: SB_INCOMPAT,
      spino_align: CHUNK_BLOCKS / 2, // the inode cluster: 16 KiB of 512-byte inodes
    },
    b,
  );
  sealCrc(b, SUPER.fields.crc[0]);
  return b;
}

function agf(geo: Geometry, a: number, uuid: Buffer, free: Run[]): Buffer {
  const b = Buffer.alloc(SECTOR);
  AGF.encode(
    {
      magicnum: AGF_MAGIC,
      versionnum: 1,
      seqno: a,
      length: geo.agLength(a),
      bno_root: ROOTS.bno,
      cnt_root: ROOTS.cnt,
      bno_level: 1,
      cnt_level: 1,
      flfirst: 0,
      fllast: AGFL_FILL - 1,
      flcount: AGFL_FILL,
      freeblks: free.reduce((s, r) => s + r.length, 0),
      longest: free.reduce((m, r) => Math.max(m, r.length), 0),
      uuid,
      refcount_blocks: 1,
      refcount_root: ROOTS.refc,
      refcount_level: 1,
    },
    b,
  );
  sealCrc(b, AGF.fields.crc[0]);
  return b;
}

function agi(a: number, length: number, uuid: Buffer, recs: Buffer[], levels: number, iblocks: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  const dec = recs.map((r) => INOBT_REC.decode(r));
  AGI.encode(
    {
      magicnum: AGI_MAGIC,
      versionnum: 1,
      seqno: a,
      length,
      count: recs.length * INODES_PER_CHUNK,
      root: ROOTS.ino,
      level: levels,
      freecount: dec.reduce((s, r) => s + r.freecount, 0),
      newino: dec.length ? dec[dec.length - 1].startino : NULLAGINO,
      dirino: NULLAGINO,
      unlinked: Buffer.alloc(256, 0xff),
      uuid,
      free_root: ROOTS.fino,
      free_level: 1,
      iblocks,
      fblocks: 1,
    },
    b,
  );
  sealCrc(b, AGI.fields.crc[0]);
  return b;
}

function agfl(geo: Geometry, a: number, uuid: Buffer): Buffer {
  const b = Buffer.alloc(SECTOR, 0xff);
  b.fill(0, 0, AGFL.size);
  AGFL.encode({ magicnum: AGFL_MAGIC, seqno: a, uuid }, b);
  geo.agflBlocks(a).forEach((bno, k) => b.writeUInt32BE(bno, AGFL.size + 4 * k));
  sealCrc(b, AGFL.fields.crc[0]);
  return b;
}

/** The AG's inode btree (possibly several levels) and free-inode btree. */
function inodeTrees(
  w: BlockWriter,
  layout: Layout,
  a: number,
  uuid: Buffer,
  recs: Buffer[],
): { levels: number; iblocks: number } {
  const { geo } = layout;
  const places = [...layout.inobtExtra[a].map((l) => l - a * geo.agblocks), ROOTS.ino];
  const { blocks } = buildBtree(INOBT, recs, places, BigInt);
  for (const b of blocks) sealShort(w, geo, a, uuid, b.at, b.data);
  const free = recs.filter((r) => INOBT_REC.decode(r).freecount > 0);
  leafTree(w, geo, a, uuid, { ...INOBT, magic: MAGIC.fino }, ROOTS.fino, free);
  return { levels: SBTREE.decode(blocks[blocks.length - 1].data).level + 1, iblocks: blocks.length };
}

export function writeAgs(w: BlockWriter, layout: Layout, f: SuperFields): void {
  const { geo } = layout;
  const states = agStates(layout);
  const fdblocks = states.reduce((s, st) => s + st.free.reduce((t, r) => t + r.length, 0) + AGFL_FILL, 0);
  const sb = superblock(geo, f, fdblocks);
  let firstChunk = 0;
  states.forEach((st, a) => {
    const recs = inobtRecs(st.chunks, firstChunk, f.inodes);
    firstChunk += st.chunks.length;
    const byBno = st.free.map((r) => ALLOC_REC.encode({ startblock: r.start, blockcount: r.length }));
    const byCnt = [...st.free]
      .sort((x, y) => x.length - y.length || x.start - y.start)
      .map((r) => ALLOC_REC.encode({ startblock: r.start, blockcount: r.length }));
    leafTree(w, geo, a, f.uuid, ALLOC(MAGIC.bno), ROOTS.bno, byBno);
    leafTree(w, geo, a, f.uuid, ALLOC(MAGIC.cnt), ROOTS.cnt, byCnt);
    leafTree(w, geo, a, f.uuid, { magic: MAGIC.refc, recSize: 12, keySize: 4, ptrSize: 4 }, ROOTS.refc, []);
    const { levels, iblocks } = inodeTrees(w, layout, a, f.uuid, recs);
    const head = Buffer.concat([
      sb,
      agf(geo, a, f.uuid, st.free),
      agi(a, geo.agLength(a), f.uuid, recs, levels, iblocks),
      agfl(geo, a, f.uuid),
      Buffer.alloc(BLOCK - 4 * SECTOR),
    ]);
    w.write(a * geo.agblocks, head);
    if (f.preallocate) zeroFree(w, geo, a, st.free);
  });
  const log = Buffer.alloc(BLOCK);
  cleanLog(f.uuid).copy(log);
  const logStart = geo.logAg * geo.agblocks + geo.logAgbno;
  w.write(logStart, log);
  if (f.preallocate) for (let b = 1; b < geo.logBlocks; b++) w.write(logStart + b, Buffer.alloc(BLOCK));
}

function zeroFree(w: BlockWriter, geo: Geometry, a: number, free: Run[]): void {
  const zeros = Buffer.alloc(BLOCK);
  const start = a * geo.agblocks;
  for (const bno of geo.agflBlocks(a)) w.write(start + bno, zeros);
  for (const r of free) for (let b = 0; b < r.length; b++) w.write(start + r.start + b, zeros);
}
