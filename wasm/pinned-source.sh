# Sourced by wasm/*/build.sh: what every WebAssembly build checks before it compiles.
# Each build takes one upstream tarball from Debian 12's source archive (`apt-get
# source`, which needs a deb-src line: .ci/run adds one), pinned by its package version
# and by the sha256 its .dsc gives (Checksums-Sha256); Debian's patches are not applied.

# need_clang SCRIPT PACKAGES: stops unless the compiler is Debian 12's clang 14.0.6,
# whose output the committed .wasm files are.
need_clang() {
  local want="Debian clang version 14.0.6"
  if ! clang --version 2>/dev/null | head -1 | grep -qF "$want"; then
    echo "$1: needs $want (Debian 12: apt-get install $2); found: $(clang --version 2>/dev/null | head -1 || echo none)" >&2
    exit 1
  fi
}

# pinned_source SCRIPT SOURCE=VERSION TARBALL SHA256 [GIVEN]: puts TARBALL in the current
# folder (a copy of GIVEN, an already downloaded tarball, or else from apt-get source)
# and stops unless its sha256 is SHA256.
pinned_source() {
  local script=$1 source=$2 tarball=$3 sha256=$4 given=${5:-}
  if [ -n "$given" ]; then
    cp "$given" "$tarball"
  elif ! apt-get source --download-only --only-source "$source" >apt.log 2>&1; then
    echo "$script: apt-get source $source failed (is there a deb-src line for Debian's archive?):" >&2
    tail -3 apt.log >&2
    exit 1
  fi
  if ! echo "$sha256  $tarball" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "$script: $tarball: sha256 is not $sha256" >&2
    exit 1
  fi
}
