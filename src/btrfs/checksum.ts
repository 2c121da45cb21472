// The two crc32c uses of btrfs (fs/btrfs/ctree.h, disk-io.c, btrfs.readthedocs.io
// "Checksumming"): block and data checksums are standard crc32c (seed ~0, result
// inverted), stored little-endian in the first 4 bytes of the 32-byte csum field; the
// name hash of dir and xattr items is the raw crc32c of the name from seed ~1, not
// inverted (btrfs_name_hash). The crc32c engine is ext4's (no inversion of its own).
import { crc32c } from '../ext4/crc32c.js';

/** The checksum of data[start, end) as btrfs stores it (BTRFS_CSUM_TYPE_CRC32). */
export function csum(data: Uint8Array, start = 0, end = data.length): number {
  return ~crc32c(0xffffffff, data, start, end) >>> 0;
}

/** btrfs_name_hash: the key offset of DIR_ITEM and XATTR_ITEM items. */
export function nameHash(name: Uint8Array): number {
  return crc32c(~1 >>> 0, name);
}
