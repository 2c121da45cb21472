#!/usr/bin/env bash
# Builds zlib.wasm (beside this script): zlib's deflate compiled to WebAssembly, no libc,
# with glue.c's one entry point, deflate_job. WebAssembly runs the same instructions on
# every CPU, so its output is the same bytes everywhere (Node's bundled zlib is Chromium's
# fork, whose output depends on the CPU's features).
#   wasm/zlib/build.sh [OUT.wasm [TARBALL]]   (default: wasm/zlib/zlib.wasm; TARBALL: the
#   orig tarball below, already downloaded; else apt-get source fetches it)
# Needs Debian 12's clang 14.0.6 and lld (wasm-ld) and a deb-src line for Debian's
# archive (apt-get source). test/zlib-wasm.test.ts runs this and checks that its output
# is the committed zlib.wasm, byte for byte.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "${1:-$here/zlib.wasm}")
tarball=${2:+$(realpath "$2")}

# The source: Debian 12's zlib package (upstream zlib 1.2.13 without its contrib/
# binaries), pinned by version and by the sha256 of the upstream tarball, as its .dsc
# (zlib_1.2.13.dfsg-1.dsc, Checksums-Sha256) gives it.
VERSION=1:1.2.13.dfsg-1
TARBALL=zlib_1.2.13.dfsg.orig.tar.bz2
SHA256=71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
source "$here/../pinned-source.sh"

need_clang wasm/zlib/build.sh "clang lld"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pinned_source wasm/zlib/build.sh "zlib=$VERSION" "$TARBALL" "$SHA256" "$tarball"
tar xjf "$TARBALL"
cd zlib-1.2.13.dfsg
# pako-hash.patch: pako 3's string hash as a run-time choice (glue.c, fp_pako_hash)
patch -s -p0 < "$here/pako-hash.patch"

# -DZ_SOLO: no libc (glue.c gives deflate its allocator); -DHAVE_MEMCPY with libc.h:
# memcpy/memset/memcmp as compiler builtins, which -mbulk-memory turns into
# memory.copy/memory.fill. Only the files deflate needs. --strip-all: no names, so the
# bytes depend on the sources and these flags only.
clang --target=wasm32 -O3 -mbulk-memory -nostdlib -ffreestanding \
  -DZ_SOLO -DHAVE_MEMCPY -include "$here/libc.h" -I. \
  -Wl,--no-entry -Wl,--strip-all \
  -Wl,--export=deflate_job -Wl,--export=deflate_state_size -Wl,--export=__heap_base \
  -o "$work/zlib.wasm" "$here/glue.c" deflate.c trees.c zutil.c adler32.c crc32.c
cp "$work/zlib.wasm" "$out"
