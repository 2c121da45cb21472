// XFS metadata checksums (fs/xfs/libxfs/xfs_cksum.h): crc32c over the whole structure
// with its CRC field taken as zero, seeded with ~0 and inverted at the end, stored
// little-endian. The crc32c itself is ext4's (same Castagnoli polynomial, no inversion).
import { crc32c } from '../ext4/crc32c.js';

/** Fills the CRC field at `at` of buf[from, from + length). */
export function sealCrc(buf: Buffer, at: number, from = 0, length = buf.length - from): void {
  buf.writeUInt32LE(0, at);
  buf.writeUInt32LE(~crc32c(0xffffffff, buf, from, from + length) >>> 0, at);
}
