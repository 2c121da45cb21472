/* One raw deflate job for fledge-pure (src/deflate/wasm.ts), over zlib's own deflate.
 * Every job starts from a fresh, zeroed state, as a new pako Deflate does: the zlib
 * state is laid out by a bump allocator from `state`, zeroed first, and thrown away
 * after the job. No libc: zlib is built with Z_SOLO (build.sh). */
#include "zlib.h"

/* 1: hash strings as pako 3 does by default (pako-hash.patch); 0: zlib's own hash */
int fp_pako_hash;

/* pako's Deflate.push output size (its option chunkSize, default 16384) */
#define PAKO_CHUNK 16384

static unsigned char *top;
static unsigned char *end;

/* Each block is followed by at least 16 zero bytes that zlib never writes: with pako's
 * 4-byte hash (pako-hash.patch) the string at the window's last 3 bytes hashes one byte
 * past the window, which pako (a JavaScript array) reads as 0. */
static voidpf bump_alloc(voidpf opaque, uInt items, uInt size) {
  unsigned long n = (((unsigned long)items * size + 15) & ~15ul) + 16;
  unsigned char *at = top;
  if (at + n > end) return Z_NULL;
  top = at + n;
  return (voidpf)at;
}

static void bump_free(voidpf opaque, voidpf p) {}

/* deflate() called as pako 3's Deflate.push calls it (pako's deflate.js, push): output in
 * PAKO_CHUNK pieces, a piece closed early when a flush has left output in it or when a
 * sync flush would find 6 bytes or fewer left. That changes the bytes: called again with
 * a sync flush after its empty stored block filled the piece (written or left pending),
 * zlib writes another one. Here the pieces follow each other in out. */
static int pako_push(z_stream *s, unsigned char *out, unsigned out_cap, int flush) {
  unsigned char *piece = out;
  int status;
  s->next_out = out;
  s->avail_out = 0;
  for (;;) {
    if (s->avail_out == 0) {
      piece = s->next_out;
      if ((unsigned long)(out + out_cap - piece) < PAKO_CHUNK) return -1;
      s->avail_out = PAKO_CHUNK;
    }
    if ((flush == Z_SYNC_FLUSH || flush == Z_FULL_FLUSH) && s->avail_out <= 6) {
      s->avail_out = 0;
      continue;
    }
    status = deflate(s, flush);
    if (status == Z_STREAM_ERROR) return -100 + status;
    if (status == Z_STREAM_END) return (int)(s->next_out - out);
    if (s->avail_out == 0) continue;
    if (flush != Z_NO_FLUSH && s->next_out > piece) {
      s->avail_out = 0;
      continue;
    }
    if (s->avail_in == 0) return (int)(s->next_out - out);
  }
}

/* Compresses in[0..in_len) (primed with dict[0..dict_len) when dict_len > 0) into
 * out[0..out_cap) with `flush` (Z_SYNC_FLUSH or Z_FINISH). pako = 0: zlib's bytes, one
 * deflate() call; pako = 1: pako 3's bytes (its hash, its push loop; out_cap must leave
 * PAKO_CHUNK bytes to spare). The state lives in [state, state_end). Returns the output
 * length; -1 when out_cap was too small (for Z_FINISH with pako = 0: the stream did not
 * end there); otherwise -100 + zlib's error code. */
int deflate_job(unsigned char *in, unsigned in_len, unsigned char *dict, unsigned dict_len,
                unsigned char *out, unsigned out_cap, int level, int window_bits, int mem_level,
                int flush, int pako, unsigned char *state, unsigned char *state_end) {
  z_stream s;
  int status;
  fp_pako_hash = pako;
  __builtin_memset(state, 0, (unsigned long)(state_end - state));
  __builtin_memset(&s, 0, sizeof s);
  top = state;
  end = state_end;
  s.zalloc = bump_alloc;
  s.zfree = bump_free;
  status = deflateInit2(&s, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
  if (status != Z_OK) return -100 + status;
  if (dict_len > 0) {
    status = deflateSetDictionary(&s, dict, dict_len);
    if (status != Z_OK) return -100 + status;
  }
  s.next_in = in;
  s.avail_in = in_len;
  if (pako) return pako_push(&s, out, out_cap, flush);
  s.next_out = out;
  s.avail_out = out_cap;
  status = deflate(&s, flush);
  if (flush == Z_FINISH && status == Z_STREAM_END) return (int)(out_cap - s.avail_out);
  if (flush == Z_FINISH && (status == Z_OK || status == Z_BUF_ERROR)) return -1;
  if (status != Z_OK) return -100 + status;
  if (s.avail_out == 0 || s.avail_in != 0) return -1;
  return (int)(out_cap - s.avail_out);
}

/* The state one job needs, with room to spare: zlib's deflate.h (window 2 * wsize,
 * prev wsize * 2, head hash_size * 2 (at least 2^15 entries with pako's hash),
 * pending_buf lit_bufsize * 4, the state itself). */
unsigned deflate_state_size(int window_bits, int mem_level) {
  unsigned long w = 1ul << window_bits;
  unsigned long hash = 1ul << (mem_level + 7 < 15 ? 15 : mem_level + 7);
  unsigned long lit = 1ul << (mem_level + 6);
  return (unsigned)(2 * w + 2 * w + 2 * hash + 4 * lit + 16384);
}
