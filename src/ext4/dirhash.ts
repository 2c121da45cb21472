// The htree name hash: half-MD4 keyed by the superblock's s_hash_seed, "unsigned" flavour
// (superblock s_flags EXT2_FLAGS_UNSIGNED_HASH), as in the kernel's fs/ext4/hash.c and
// e2fsprogs lib/ext2fs/dirhash.c: the name goes in 32-byte chunks, each packed into eight
// words with the length as padding; the major hash is buf[1] with the low bit cleared.

const K2 = 0o13240474631;
const K3 = 0o15666365641;
const rol = (x: number, s: number) => ((x << s) | (x >>> (32 - s))) >>> 0;
const F = (x: number, y: number, z: number) => z ^ (x & (y ^ z));
const G = (x: number, y: number, z: number) => ((x & y) + ((x ^ y) & z)) >>> 0;
const H = (x: number, y: number, z: number) => x ^ y ^ z;

function halfMd4(buf: Uint32Array, inp: Uint32Array): void {
  let [a, b, c, d] = buf;
  const r = (f: typeof F, w: number, x: number, y: number, z: number, k: number, s: number) =>
    rol((w + f(x, y, z) + k) >>> 0, s);
  a = r(F, a, b, c, d, inp[0], 3);
  d = r(F, d, a, b, c, inp[1], 7);
  c = r(F, c, d, a, b, inp[2], 11);
  b = r(F, b, c, d, a, inp[3], 19);
  a = r(F, a, b, c, d, inp[4], 3);
  d = r(F, d, a, b, c, inp[5], 7);
  c = r(F, c, d, a, b, inp[6], 11);
  b = r(F, b, c, d, a, inp[7], 19);
  a = r(G, a, b, c, d, inp[1] + K2, 3);
  d = r(G, d, a, b, c, inp[3] + K2, 5);
  c = r(G, c, d, a, b, inp[5] + K2, 9);
  b = r(G, b, c, d, a, inp[7] + K2, 13);
  a = r(G, a, b, c, d, inp[0] + K2, 3);
  d = r(G, d, a, b, c, inp[2] + K2, 5);
  c = r(G, c, d, a, b, inp[4] + K2, 9);
  b = r(G, b, c, d, a, inp[6] + K2, 13);
  a = r(H, a, b, c, d, inp[3] + K3, 3);
  d = r(H, d, a, b, c, inp[7] + K3, 9);
  c = r(H, c, d, a, b, inp[2] + K3, 11);
  b = r(H, b, c, d, a, inp[6] + K3, 15);
  a = r(H, a, b, c, d, inp[1] + K3, 3);
  d = r(H, d, a, b, c, inp[5] + K3, 9);
  c = r(H, c, d, a, b, inp[0] + K3, 11);
  b = r(H, b, c, d, a, inp[4] + K3, 15);
  buf[0] = (buf[0] + a) >>> 0;
  buf[1] = (buf[1] + b) >>> 0;
  buf[2] = (buf[2] + c) >>> 0;
  buf[3] = (buf[3] + d) >>> 0;
}

/** Packs up to 32 bytes of name into 8 words (str2hashbuf_unsigned). */
function packChunk(name: Uint8Array, from: number, out: Uint32Array): void {
  let len = name.length - from;
  const pad = (len | (len << 8) | ((len | (len << 8)) << 16)) >>> 0;
  let val = pad;
  let num = 8;
  let o = 0;
  if (len > 32) len = 32;
  for (let i = 0; i < len; i++) {
    val = (name[from + i] + (val << 8)) >>> 0;
    if (i % 4 === 3) {
      out[o++] = val;
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out[o++] = val;
  while (--num >= 0) out[o++] = pad;
}

/** The 32-bit major hash of a name; `seed` is s_hash_seed as four words. */
export function dirHash(name: Uint8Array, seed: Uint32Array): number {
  const buf = seed.some((w) => w !== 0)
    ? Uint32Array.from(seed)
    : Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
  const inp = new Uint32Array(8);
  for (let p = 0; p < name.length; p += 32) {
    packChunk(name, p, inp);
    halfMd4(buf, inp);
  }
  let hash = buf[1] & ~1;
  // 0x7fffffff << 1 is the end-of-directory marker of 32-bit htree cookies
  if (hash >>> 0 === 0xfffffffe) hash = 0xfffffffc;
  return hash >>> 0;
}
