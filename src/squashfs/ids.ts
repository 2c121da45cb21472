// The id table (squashfs-tools-ng include/sqfs/id_table.h, doc/format.adoc "ID Table"):
// every distinct uid and gid once, in order of first use; inodes hold u16 indexes into it.
import { encodeArray, ID_ENTRY } from './format.js';

/** the superblock counts ids in a u16 (super.h id_count) */
const MAX_IDS = 65535;

export class IdTable {
  private ids = new Map<number, number>();

  /** The index of `id`, added when new. */
  index(id: number): number {
    let i = this.ids.get(id);
    if (i === undefined) {
      if (this.ids.size === MAX_IDS)
        throw new Error('squashfs: more than 65535 distinct uids and gids (the superblock counts them in 16 bits)');
      this.ids.set(id, (i = this.ids.size));
    }
    return i;
  }

  get count(): number {
    return this.ids.size;
  }

  /** The table's entries (u32 ids), to be stored as a lookup table. */
  entries(): Buffer {
    return encodeArray(ID_ENTRY, 'id', [...this.ids.keys()]);
  }
}
