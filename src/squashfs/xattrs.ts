// The xattr tables (squashfs-tools-ng doc/format.adoc "Extended Attribute Table",
// include/sqfs/xattr.h; the kernel's fs/squashfs/xattr.c, xattr_id.c).
//
// Each distinct set of pairs is stored once in the key/value metadata stream (per pair: a
// sqfs_xattr_entry_t with the key without its prefix, a sqfs_xattr_value_t with the value,
// all inline); its id entry holds the reference of its first pair, the pair count and the
// pairs' total stored size. Names outside user./trusted./security. (POSIX ACLs, system.*)
// have no type in squashfs: left out and counted, as mksquashfs skips them with a warning.
//
// On disk: the key/value blocks, then the id entries in metadata blocks, then the
// uncompressed sqfs_xattr_id_table_t followed by the u64 positions of the id-entry blocks;
// the superblock points at that header.
import type { BlockCompressor } from './codec.js';
import {
  encodeRecords,
  NO_XATTR,
  XATTR_ENTRY,
  XATTR_ID,
  XATTR_ID_TABLE,
  XATTR_PREFIXES,
  XATTR_VALUE,
} from './format.js';
import { metaBlocks, MetaWriter } from './metadata.js';

export interface XattrId {
  /** reference of the set's first pair in the key/value stream */
  ref: number;
  count: number;
  size: number;
}

export class XattrTable {
  readonly ids: XattrId[] = [];
  /** inodes with xattrs squashfs has no namespace for, left out */
  dropped = 0;
  private kv: MetaWriter;
  private sets = new Map<string, number>();

  constructor(compress: BlockCompressor) {
    this.kv = new MetaWriter(compress);
  }

  /** The xattr index of an inode with these xattrs (NO_XATTR when none can be stored). */
  index(xattrs: ReadonlyMap<string, Uint8Array>): number {
    const names = [...xattrs.keys()].filter((name) => XATTR_PREFIXES.some((p) => name.startsWith(p))).sort();
    if (names.length < xattrs.size) this.dropped++;
    if (!names.length) return NO_XATTR;
    const bytes = Buffer.concat(names.flatMap((name) => pair(name, xattrs.get(name)!)));
    const setKey = bytes.toString('latin1');
    let i = this.sets.get(setKey);
    if (i === undefined) {
      this.sets.set(setKey, (i = this.ids.length));
      this.ids.push({ ref: this.kv.ref(), count: names.length, size: bytes.length });
      this.kv.append(bytes);
    }
    return i;
  }

  /** The tables placed at `start`; `tableAt` is what the superblock stores. Undefined without xattrs. */
  finish(start: number, compress: BlockCompressor): { bytes: Buffer; tableAt: number } | undefined {
    if (!this.ids.length) return undefined;
    const kv = this.kv.finish();
    const entries = encodeRecords(
      XATTR_ID,
      this.ids.map((x) => ({ xattr: x.ref, count: x.count, size: x.size })),
    );
    const { blocks, locations } = metaBlocks(entries, start + kv.length, compress);
    const head = XATTR_ID_TABLE.encode({ xattr_table_start: start, xattr_ids: this.ids.length, unused: 0 });
    return { bytes: Buffer.concat([kv, blocks, head, locations]), tableAt: start + kv.length + blocks.length };
  }
}

function pair(name: string, value: Uint8Array): Buffer[] {
  const type = XATTR_PREFIXES.findIndex((p) => name.startsWith(p));
  const key = Buffer.from(name.slice(XATTR_PREFIXES[type]!.length), 'utf8');
  return [
    XATTR_ENTRY.encode({ type, size: key.length }),
    key,
    XATTR_VALUE.encode({ size: value.length }),
    Buffer.from(value),
  ];
}
