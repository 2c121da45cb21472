#!/usr/bin/env bash
# Builds zstd.wasm: zstd 1.5.4's compressor (lib/common + lib/compress, no threads, no
# decompressor) for WebAssembly, exporting the streaming API (ZSTD_compressStream2 on
# one CCtx) that src/zstd-stream.ts drives and the one-shot ZSTD_compressCCtx that
# src/zstd.ts calls for squashfs blocks. The committed .wasm is this script's output;
# test/zstd-stream.test.ts rebuilds it and compares bytes.
#
# Usage: wasm/zstd/build.sh OUT.wasm [ORIG_TARBALL]
# Without ORIG_TARBALL, Debian's source of libzstd is taken with `apt-get source`
# (a deb-src line for the Debian mirror is needed: .ci/run adds it). Only the upstream
# (orig) tarball is used — Debian's patches are not applied — and its sha256 is pinned.
# Toolchain: Debian 12's clang 14, lld 14 (wasm-ld), wasi-libc 0.0~git20220510.
set -euo pipefail
ORIG_SHA256=8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953
ORIG_NAME=libzstd_1.5.4+dfsg2.orig.tar.xz
DEBIAN_VERSION=1.5.4+dfsg2-5
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
given=${2:+$(realpath "$2")}
source "$here/../pinned-source.sh"

need_clang wasm/zstd/build.sh "clang lld wasi-libc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pinned_source wasm/zstd/build.sh "libzstd=$DEBIAN_VERSION" "$ORIG_NAME" "$ORIG_SHA256" "$given"
tar -xJf "$work/$ORIG_NAME" -C "$work"
cp "$here/glue.c" "$work/zstd-1.5.4/lib/"
cd "$work/zstd-1.5.4/lib"
# -DZSTD_TRACE=0: no trace hooks; -DNDEBUG: no asserts; relative paths only, no debug
# info, custom sections stripped: the output depends on the sources and flags alone.
exports=(ZSTD_createCCtx ZSTD_freeCCtx ZSTD_CCtx_setParameter ZSTD_compressStream2 ZSTD_compressCCtx ZSTD_compressBound ZSTD_CStreamInSize ZSTD_CStreamOutSize ZSTD_isError ZSTD_getErrorName ZSTD_versionNumber fp_malloc fp_free)
clang --target=wasm32-wasi -O3 -DNDEBUG -DZSTD_TRACE=0 \
  -nostartfiles -Wl,--no-entry -Wl,--strip-all -Wl,--gc-sections \
  $(printf -- '-Wl,--export=%s ' "${exports[@]}") \
  -o "$out" glue.c common/entropy_common.c common/error_private.c common/fse_decompress.c \
  common/xxhash.c common/zstd_common.c common/debug.c \
  compress/*.c
