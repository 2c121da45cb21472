/* LZ4_compress_default's bytes as liblz4 1.9.4 writes them on x86-64 (what mksquashfs's
 * lz4_wrapper.c and tar2sqfs call for each block), from WebAssembly. lz4.c is included
 * so that its internal LZ4_compress_generic can be called with the table type a 64-bit
 * host picks (lz4.c, LZ4_compress_fast_extState): byU16 under LZ4_64Klimit, else byU32.
 * A 32-bit host would pick byPtr for a buffer above 64 KiB, whose empty table slots never
 * match where byU32's point at position 0: other bytes. reg-t-64.patch gives the 64-bit
 * register type (reg_t), so the hash is LZ4_hash5 as on x86-64, not LZ4_hash4.
 * One fixed input and output buffer: squashfs blocks are at most 1 MiB. */
#include "lz4.c"

#define FP_MAX_INPUT (1 << 20)

static char fp_src[FP_MAX_INPUT];
static char fp_dst[LZ4_COMPRESSBOUND(FP_MAX_INPUT)];
static LZ4_stream_t fp_state;

char *fp_input(void) { return fp_src; }
char *fp_output(void) { return fp_dst; }
int fp_max_input(void) { return FP_MAX_INPUT; }

/* One raw LZ4 block of fp_src[0..size) into fp_dst; its length, or 0 for a bad size. */
int fp_compress(int size) {
  if (size < 0 || size > FP_MAX_INPUT) return 0;
  LZ4_stream_t_internal *const ctx = &LZ4_initStream(&fp_state, sizeof(fp_state))->internal_donotuse;
  if (size < LZ4_64Klimit)
    return LZ4_compress_generic(ctx, fp_src, fp_dst, size, NULL, 0, notLimited, byU16, noDict, noDictIssue, 1);
  return LZ4_compress_generic(ctx, fp_src, fp_dst, size, NULL, 0, notLimited, byU32, noDict, noDictIssue, 1);
}
