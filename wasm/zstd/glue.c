/* The allocator for JavaScript's buffers (ZSTD_inBuffer / ZSTD_outBuffer and the data
 * they point to): wasi-libc's malloc, the one zstd's own allocations use. */
#include <stdlib.h>

void *fp_malloc(size_t size) { return malloc(size); }
void fp_free(void *p) { free(p); }
