// Block addresses for every tree and the chunks around them. The chunk, root, device,
// extent and free-space trees describe where every tree block is, so their own sizes
// depend on the layout: pack them, lay everything out, rebuild them from that layout and
// repeat until no tree changes shape (two or three rounds).
import { bufferBytes } from '../ext4/sizing.js';
import type { Time } from '../tree/tree.js';
import { blockCount, type Packed, pack, rootLevel } from './btree.js';
import { BG, NODE, OBJ } from './format.js';
import { alignUp, dataChunks, MIB, type Run, secondCopy, Space, SYSTEM_CHUNK, SYSTEM_COPY } from './layout.js';
import {
  type Chunk,
  chunkTreeItems,
  type DataExtent,
  devTreeItems,
  extentTreeItems,
  freeSpaceItems,
  type Ids,
  relocTreeItems,
  type RootInfo,
  rootTreeItems,
  type TreeBlock,
  uuidTreeItems,
} from './meta-items.js';

export interface PlannedTree {
  id: bigint;
  packed: Packed;
  /** leaves, then each node level; the root last */
  addrs: number[];
}

export interface Plan {
  trees: PlannedTree[];
  chunks: Chunk[];
  devSize: number;
  bytesUsed: number;
}

export interface PlanInput {
  /** one past the last data byte */
  dataEnd: number;
  data: DataExtent[];
  fsTree: Packed;
  csumTree: Packed;
  ids: Ids;
  epoch: Time;
  sizeBufferMb: number;
}

/** Trees in the METADATA chunk, in address order (the chunk tree lives in the SYSTEM chunk). */
const META_ORDER = [
  OBJ.ROOT_TREE,
  OBJ.EXTENT_TREE,
  OBJ.DEV_TREE,
  OBJ.FS_TREE,
  OBJ.CSUM_TREE,
  OBJ.FREE_SPACE_TREE,
  OBJ.UUID_TREE,
  OBJ.DATA_RELOC_TREE,
];
/** Free room in the METADATA chunk for the kernel's copy-on-write: a quarter of it, at least 8 MiB. */
const metaSlack = (used: number) => Math.max(8 * MIB, Math.ceil(used / 4));

interface Layout {
  addrs: Map<bigint, number[]>;
  chunks: Chunk[];
  devSize: number;
}

function assign(packed: Map<bigint, Packed>, input: PlanInput): Layout {
  const data: Chunk[] = dataChunks(input.dataEnd).map((r) => ({ ...r, type: BG.DATA, stripes: [r.start] }));
  const metaStart = data[data.length - 1].start + data[data.length - 1].length;
  const addrs = new Map<bigint, number[]>();
  const sys = new Space(SYSTEM_CHUNK.start);
  addrs.set(
    OBJ.CHUNK_TREE,
    Array.from({ length: blockCount(packed.get(OBJ.CHUNK_TREE)!) }, () => sys.block()),
  );
  if (sys.next > SYSTEM_CHUNK.start + SYSTEM_CHUNK.length)
    throw new Error('btrfs: the chunk tree outgrew the system chunk');
  const meta = new Space(metaStart);
  for (const id of META_ORDER)
    addrs.set(
      id,
      Array.from({ length: blockCount(packed.get(id)!) }, () => meta.block()),
    );
  const used = meta.next - metaStart;
  const metaLen = alignUp(used + metaSlack(used), MIB);
  const copy = secondCopy(metaStart + metaLen, metaLen);
  const chunks: Chunk[] = [
    { ...SYSTEM_CHUNK, type: BG.SYSTEM | BG.DUP, stripes: [SYSTEM_CHUNK.start, SYSTEM_COPY] },
    ...data,
    { start: metaStart, length: metaLen, type: BG.METADATA | BG.DUP, stripes: [metaStart, copy] },
  ];
  const content = input.data.reduce((n, d) => n + d.length, 0) + used;
  return { addrs, chunks, devSize: copy + metaLen + alignUp(bufferBytes(input.sizeBufferMb, content), MIB) };
}

/** Level of each block in address order: leaves 0, then each node level. */
function levelsOf(p: Packed): number[] {
  return [...p.leaves.map(() => 0), ...p.nodes.flatMap((level, l) => level.map(() => l + 1))];
}

function rebuild(packed: Map<bigint, Packed>, l: Layout, input: PlanInput): Map<bigint, Packed> {
  const { ids } = input;
  const blocks: TreeBlock[] = [];
  const usedRuns: Run[] = input.data.map((d) => ({ start: d.bytenr, length: d.length }));
  const roots: RootInfo[] = [];
  for (const [id, addrs] of l.addrs) {
    const p = packed.get(id)!;
    levelsOf(p).forEach((level, k) => {
      blocks.push({ bytenr: addrs[k], level, owner: id });
      usedRuns.push({ start: addrs[k], length: NODE });
    });
    if (id !== OBJ.ROOT_TREE && id !== OBJ.CHUNK_TREE)
      roots.push({ id, bytenr: addrs[addrs.length - 1], level: rootLevel(p), blocks: addrs.length });
  }
  roots.sort((a, b) => (a.id < b.id ? -1 : 1));
  const next = new Map(packed);
  next.set(OBJ.CHUNK_TREE, pack(OBJ.CHUNK_TREE, chunkTreeItems(l.devSize, l.chunks, ids)));
  next.set(OBJ.DEV_TREE, pack(OBJ.DEV_TREE, devTreeItems(l.chunks, ids)));
  next.set(OBJ.ROOT_TREE, pack(OBJ.ROOT_TREE, rootTreeItems(roots, ids, input.epoch)));
  next.set(OBJ.EXTENT_TREE, pack(OBJ.EXTENT_TREE, extentTreeItems(l.chunks, blocks, input.data, ids)));
  next.set(OBJ.FREE_SPACE_TREE, pack(OBJ.FREE_SPACE_TREE, freeSpaceItems(l.chunks, usedRuns)));
  return next;
}

function sameShapes(a: Map<bigint, Packed>, b: Map<bigint, Packed>): boolean {
  for (const [id, p] of a) {
    const q = b.get(id)!;
    if (
      p.leaves.join() !== q.leaves.join() ||
      p.nodes.map((n) => n.length).join() !== q.nodes.map((n) => n.length).join()
    )
      return false;
  }
  return true;
}

export function planMetadata(input: PlanInput): Plan {
  let packed = new Map<bigint, Packed>([
    [OBJ.FS_TREE, input.fsTree],
    [OBJ.CSUM_TREE, input.csumTree],
    [OBJ.UUID_TREE, pack(OBJ.UUID_TREE, uuidTreeItems(input.ids))],
    [OBJ.DATA_RELOC_TREE, pack(OBJ.DATA_RELOC_TREE, relocTreeItems(input.ids, input.epoch))],
  ]);
  for (const id of [OBJ.CHUNK_TREE, OBJ.ROOT_TREE, OBJ.DEV_TREE, OBJ.EXTENT_TREE, OBJ.FREE_SPACE_TREE])
    packed.set(id, pack(id, []));
  for (let round = 0; round < 20; round++) {
    const layout = assign(packed, input);
    const next = rebuild(packed, layout, input);
    if (sameShapes(packed, next)) {
      const trees = [...layout.addrs].map(([id, addrs]) => ({ id, packed: next.get(id)!, addrs }));
      const blocks = trees.reduce((n, t) => n + t.addrs.length, 0);
      const bytesUsed = blocks * NODE + input.data.reduce((n, d) => n + d.length, 0);
      return { trees, chunks: layout.chunks, devSize: layout.devSize, bytesUsed };
    }
    packed = next;
  }
  throw new Error('btrfs: the metadata layout did not settle');
}
