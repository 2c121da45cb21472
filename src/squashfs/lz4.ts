// LZ4 block compression, for squashfs's lz4 compressor (id 5). Squashfs stores each
// block as one raw LZ4 block, no frame: squashfs-tools' lz4_wrapper.c compresses with
// LZ4_compress_default and reads with LZ4_decompress_safe, as the kernel does.
//
// The block format (lz4 doc/lz4_Block_format.md) is a run of sequences:
//   token     u8: high nibble the literal count, low nibble the match length - 4;
//             15 in a nibble means more length bytes follow (each 255, the last < 255)
//   literals  that many bytes, copied as they are
//   offset    u16 LE, 1–65535: how far back the match starts (it may overlap its copy)
//   then the match length's extra bytes.
// The last sequence is literals alone. End rules: the last 5 bytes are literals
// (LASTLITERALS) and the last match starts at least 12 bytes before the end (MFLIMIT),
// so a block under 13 bytes is all literals.
//
// The search is a greedy single-entry hash table of 4-byte sequences, as LZ4's fast mode;
// the bytes are this code's own (any valid block decodes the same) and the same on every
// machine.

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MFLIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_LOG = 16;
/** after 2^SKIP_TRIGGER misses in a row, the search steps 2 bytes, then 3, ... (LZ4's skip) */
const SKIP_TRIGGER = 6;

const table = new Int32Array(1 << HASH_LOG);

const read32 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
const hash = (v: number) => Math.imul(v, 2654435761) >>> (32 - HASH_LOG);

function writeLength(out: Uint8Array, op: number, extra: number): number {
  for (; extra >= 255; extra -= 255) out[op++] = 255;
  out[op++] = extra;
  return op;
}

function writeLiterals(
  out: Uint8Array,
  op: number,
  src: Uint8Array,
  from: number,
  count: number,
  matchNibble: number,
): number {
  out[op++] = (Math.min(count, 15) << 4) | matchNibble;
  if (count >= 15) op = writeLength(out, op, count - 15);
  out.set(src.subarray(from, from + count), op);
  return op + count;
}

/** One LZ4 block holding `src` (which may be empty: one zero token). */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  // LZ4_COMPRESSBOUND: n + n/255 + 16
  const out = new Uint8Array(n + Math.floor(n / 255) + 16);
  let op = 0;
  let anchor = 0;
  if (n > MFLIMIT) {
    table.fill(-1);
    const lastStart = n - MFLIMIT;
    const matchLimit = n - LAST_LITERALS;
    let ip = 0;
    let misses = 0;
    while (ip <= lastStart) {
      const seq = read32(src, ip);
      const h = hash(seq);
      const ref = table[h];
      table[h] = ip;
      if (ref < 0 || ip - ref > MAX_OFFSET || read32(src, ref) !== seq) {
        ip += 1 + (misses++ >> SKIP_TRIGGER);
        continue;
      }
      misses = 0;
      let start = ip;
      let back = ref;
      while (start > anchor && back > 0 && src[start - 1] === src[back - 1]) {
        start--;
        back--;
      }
      let end = ip + MIN_MATCH;
      for (let r = ref + MIN_MATCH; end < matchLimit && src[end] === src[r]; r++) end++;
      const matchExtra = end - start - MIN_MATCH;
      op = writeLiterals(out, op, src, anchor, start - anchor, Math.min(matchExtra, 15));
      const offset = start - back;
      out[op++] = offset & 0xff;
      out[op++] = offset >>> 8;
      if (matchExtra >= 15) op = writeLength(out, op, matchExtra - 15);
      anchor = ip = end;
      if (end - 2 <= lastStart) table[hash(read32(src, end - 2))] = end - 2;
    }
  }
  op = writeLiterals(out, op, src, anchor, n - anchor, 0);
  return out.subarray(0, op);
}
