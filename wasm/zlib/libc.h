/* The three libc functions zlib's deflate calls (zutil.h with HAVE_MEMCPY), as
 * compiler builtins: with -mbulk-memory they become WebAssembly memory.copy /
 * memory.fill, so the module needs no libc. Included before every source (build.sh). */
#define memcpy __builtin_memcpy
#define memset __builtin_memset
#define memcmp __builtin_memcmp
