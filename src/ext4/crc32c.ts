// crc32c (Castagnoli, reflected polynomial 0x82F63B78) as ext4 uses it: the caller's
// seed goes in as is and nothing is inverted at the end (e2fsprogs ext2fs_crc32c_le,
// kernel ext4_chksum). The checksum of a superblock is crc32c(~0, bytes); every other
// structure starts from the filesystem seed crc32c(~0, uuid) (kernel checksums.rst).
// Slicing-by-8 tables: metadata is a few MB per image, so this is never the bottleneck.

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0][i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) for (let k = 1; k < 8; k++) t[k][i] = (t[k - 1][i] >>> 8) ^ t[0][t[k - 1][i] & 0xff];
  return t;
})();

// each table a constant of its own: no destructuring of TABLES per call (an iterator in
// code not yet optimized, and a build runs this cold: about 20 000 calls; 2x faster so)
const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES;

export function crc32c(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = seed >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[data[i + 4]] ^
      T2[data[i + 5]] ^
      T1[data[i + 6]] ^
      T0[data[i + 7]];
  }
  for (; i < end; i++) c = T0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** crc32c over a little-endian 32-bit number (inode numbers, group numbers). */
export function crc32cU32(seed: number, n: number): number {
  const t0 = TABLES[0];
  let c = seed >>> 0;
  for (let k = 0; k < 32; k += 8) c = t0[(c ^ (n >>> k)) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}
