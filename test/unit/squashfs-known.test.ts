// Known answers for squashfs metadata blocks and lookup tables, from an image written by
// mksquashfs 4.5.1 (Debian 12's squashfs-tools), never from our own code:
//   mkdir sq; for i in $(seq 0 2099); do : > sq/f$i; chown $((i*3)):0 sq/f$i; done
//   mksquashfs sq s.img -noI -noId -noD -noF -noX -all-time 0 -mkfs-time 0
// read back by hand: the superblock's id count (u16 at 26) is 2100 and its id table
// start (u64 at 48) is 118987; the two u64 there point at metadata blocks at 110583 and
// 118777, with headers 0xa000 (8192 bytes, stored raw: bit 15) and 0x80d0 (208 bytes, raw);
// the ids in them are the files' uids in name order (f0, f1, f10, f100, …: 0, 3, 30, 300, …);
// the table from the first block to the end of its u64 list is 8420 bytes with
// sha256 d00e9cfbf8ad6032a8ff0566fe1b9729f2eb927ac8ff3632a5931a5bd416b83c.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SQFS_META_BLOCK_SIZE } from '../../src/squashfs/format.js';
import { lookupTable, MetaWriter } from '../../src/squashfs/metadata.js';

const raw = () => null; // no compression: every block stored raw, as with -noI -noId

describe('squashfs lookup tables (the id table mksquashfs wrote)', () => {
  const names = Array.from({ length: 2100 }, (_, i) => `f${i}`).sort();
  const entries = Buffer.alloc(4 * names.length);
  names.forEach((n, i) => entries.writeUInt32LE(3 * Number(n.slice(1)), 4 * i));

  it('writes the same bytes: two raw metadata blocks, then the u64 positions of their headers', () => {
    const t = lookupTable(entries, 110583, raw);
    expect(t.listAt).toBe(118987);
    expect([t.bytes.readUInt16LE(0), t.bytes.readUInt16LE(2 + 8192)]).toEqual([0xa000, 0x80d0]);
    expect([t.bytes.readBigUInt64LE(t.bytes.length - 16), t.bytes.readBigUInt64LE(t.bytes.length - 8)]).toEqual([
      110583n,
      118777n,
    ]);
    expect(t.bytes.length).toBe(8420);
    expect(createHash('sha256').update(t.bytes).digest('hex')).toBe(
      'd00e9cfbf8ad6032a8ff0566fe1b9729f2eb927ac8ff3632a5931a5bd416b83c',
    );
  });
});

describe('squashfs metadata blocks', () => {
  it('cuts the stream at 8 KiB and references a byte as (header position << 16) | offset', () => {
    // kernel fs/squashfs/squashfs_fs.h: SQUASHFS_METADATA_SIZE 8192, SQUASHFS_COMPRESSED_BIT 1 << 15;
    // an inode reference is block << 16 | offset (SQUASHFS_INODE_BLK / SQUASHFS_INODE_OFFSET)
    expect(SQFS_META_BLOCK_SIZE).toBe(8192);
    const m = new MetaWriter(raw);
    m.append(Buffer.alloc(8190, 1));
    expect(m.ref()).toBe(8190);
    m.append(Buffer.alloc(10, 2));
    // the first block (2-byte header + 8192 bytes) is out: the next byte is at offset 8 of the block at 8194
    expect(m.ref()).toBe(8194 * 65536 + 8);
    const bytes = m.finish();
    expect([bytes.length, bytes.readUInt16LE(0), bytes.readUInt16LE(8194)]).toEqual([
      8194 + 2 + 8,
      0x8000 | 8192,
      0x8000 | 8,
    ]);
  });

  it('stores a block compressed (bit 15 clear) when the compressor returns bytes', () => {
    const m = new MetaWriter(() => Buffer.from([9, 9, 9]));
    m.append(Buffer.alloc(100));
    expect([...m.finish()]).toEqual([3, 0, 9, 9, 9]);
  });
});
