// The htree name hash: half-MD4 keyed by the superblock's s_hash_seed, "unsigned" flavour
// (superblock s_flags EXT2_FLAGS_UNSIGNED_HASH), as in the kernel's fs/ext4/hash.c and
// e2fsprogs lib/ext2fs/dirhash.c: the name goes in 32-byte chunks, each packed into eight
// words with the length as padding; the major hash is buf[1] with the low bit cleared.

const K2 = 0o13240474631;
const K3 = 0o15666365641;
// Words are kept as signed 32-bit values (| 0, small integers to the engine) rather than
// unsigned ones (>>> 0, a heap number above 2^31): every step is modulo 2^32 either way,
// sums of three words are exact in a double, and << and >>> take them modulo 2^32; the
// Uint32Array writes and the final >>> 0 give the unsigned words back.
const rol = (x: number, s: number) => (x << s) | (x >>> (32 - s));
const F = (x: number, y: number, z: number) => z ^ (x & (y ^ z));
const G = (x: number, y: number, z: number) => ((x & y) + ((x ^ y) & z)) | 0;
const H = (x: number, y: number, z: number) => x ^ y ^ z;

// one round step per function, made once (not a closure per call taking F, G or H: a build
// hashes every name of every large directory, mostly before the code is optimized)
const ff = (w: number, x: number, y: number, z: number, k: number, s: number) => rol(w + F(x, y, z) + k, s);
const gg = (w: number, x: number, y: number, z: number, k: number, s: number) => rol(w + G(x, y, z) + k, s);
const hh = (w: number, x: number, y: number, z: number, k: number, s: number) => rol(w + H(x, y, z) + k, s);

function halfMd4(buf: Uint32Array, inp: Uint32Array): void {
  let a = buf[0];
  let b = buf[1];
  let c = buf[2];
  let d = buf[3];
  a = ff(a, b, c, d, inp[0], 3);
  d = ff(d, a, b, c, inp[1], 7);
  c = ff(c, d, a, b, inp[2], 11);
  b = ff(b, c, d, a, inp[3], 19);
  a = ff(a, b, c, d, inp[4], 3);
  d = ff(d, a, b, c, inp[5], 7);
  c = ff(c, d, a, b, inp[6], 11);
  b = ff(b, c, d, a, inp[7], 19);
  a = gg(a, b, c, d, inp[1] + K2, 3);
  d = gg(d, a, b, c, inp[3] + K2, 5);
  c = gg(c, d, a, b, inp[5] + K2, 9);
  b = gg(b, c, d, a, inp[7] + K2, 13);
  a = gg(a, b, c, d, inp[0] + K2, 3);
  d = gg(d, a, b, c, inp[2] + K2, 5);
  c = gg(c, d, a, b, inp[4] + K2, 9);
  b = gg(b, c, d, a, inp[6] + K2, 13);
  a = hh(a, b, c, d, inp[3] + K3, 3);
  d = hh(d, a, b, c, inp[7] + K3, 9);
  c = hh(c, d, a, b, inp[2] + K3, 11);
  b = hh(b, c, d, a, inp[6] + K3, 15);
  a = hh(a, b, c, d, inp[1] + K3, 3);
  d = hh(d, a, b, c, inp[5] + K3, 9);
  c = hh(c, d, a, b, inp[0] + K3, 11);
  b = hh(b, c, d, a, inp[4] + K3, 15);
  buf[0] = buf[0] + a;
  buf[1] = buf[1] + b;
  buf[2] = buf[2] + c;
  buf[3] = buf[3] + d;
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

const MD4_INIT = Uint32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476);
const BUF = new Uint32Array(4);
const INP = new Uint32Array(8);

/** The 32-bit major hash of a name; `seed` is s_hash_seed as four words. */
export function dirHash(name: Uint8Array, seed: Uint32Array): number {
  // the hash state and the packed chunk, reused from call to call
  const buf = BUF;
  const inp = INP;
  const init = seed[0] | seed[1] | seed[2] | seed[3] ? seed : MD4_INIT;
  for (let k = 0; k < 4; k++) buf[k] = init[k];
  for (let p = 0; p < name.length; p += 32) {
    packChunk(name, p, inp);
    halfMd4(buf, inp);
  }
  let hash = buf[1] & ~1;
  // 0x7fffffff << 1 is the end-of-directory marker of 32-bit htree cookies
  if (hash >>> 0 === 0xfffffffe) hash = 0xfffffffc;
  return hash >>> 0;
}
