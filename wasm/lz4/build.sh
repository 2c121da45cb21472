#!/usr/bin/env bash
# Builds lz4.wasm (beside this script): liblz4 1.9.4's block compressor compiled to
# WebAssembly, with glue.c's entry point fp_compress (LZ4_compress_default's bytes as
# liblz4 writes them on x86-64: see glue.c). WebAssembly runs the same instructions on
# every CPU, so the output is the same bytes everywhere.
#   wasm/lz4/build.sh [OUT.wasm [TARBALL]]   (default: wasm/lz4/lz4.wasm; TARBALL: the
#   orig tarball below, already downloaded; else apt-get source fetches it)
# Needs Debian 12's clang 14.0.6, lld (wasm-ld), wasi-libc and a deb-src line for Debian's
# archive (apt-get source). test/lz4.test.ts runs this and checks that its output is the
# committed lz4.wasm, byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-$here/lz4.wasm}")
tarball=${2:+$(realpath "$2")}

# The source: Debian 12's lz4 package (upstream lz4 1.9.4; Debian's patches, about
# linking and -O2, are not applied), pinned by version and by the sha256 of the upstream
# tarball, as its .dsc (lz4_1.9.4-1.dsc, Checksums-Sha256) gives it.
VERSION=1.9.4-1
TARBALL=lz4_1.9.4.orig.tar.gz
SHA256=0b0e3aa07c8c063ddf40b082bdf7e37a1562bda40a0ff5272957f3e987e0e54b
source "$here/../pinned-source.sh"

need_clang wasm/lz4/build.sh "clang lld wasi-libc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pinned_source wasm/lz4/build.sh "lz4=$VERSION" "$TARBALL" "$SHA256" "$tarball"
tar xzf "$TARBALL"
cd lz4-1.9.4
# reg-t-64.patch: the 64-bit register type of x86-64, so the hash is x86-64's (glue.c)
patch -s -p0 < "$here/reg-t-64.patch"

# -DNDEBUG: no asserts; wasi-libc for memcpy/memset; -mbulk-memory: memory.copy for
# variable-sized copies. --strip-all: no names, so the bytes depend on the sources and
# these flags only.
clang --target=wasm32-wasi -O3 -mbulk-memory -DNDEBUG -Ilib \
  -nostartfiles -Wl,--no-entry -Wl,--strip-all -Wl,--gc-sections \
  -Wl,--export=fp_compress -Wl,--export=fp_input -Wl,--export=fp_output -Wl,--export=fp_max_input \
  -o "$work/lz4.wasm" "$here/glue.c"
cp "$work/lz4.wasm" "$out"
