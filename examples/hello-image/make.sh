#!/bin/sh
# Rebuilds this OCI layout (tag "hello") from ../hello/busybox: one gzip layer with
# busybox, its sh/ls/cat/mount/poweroff links, /etc/motd and /etc/hostname. Every input
# is fixed (names sorted, owner 0, mtime 2024-01-01, gzip -n), so the blobs come out
# the same on every run. Needs GNU tar, gzip, sha256sum.
set -eu
cd "$(dirname "$0")"
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
cp ../hello/busybox "$root/bin/busybox"
chmod 0755 "$root/bin/busybox"
for a in sh ls cat mount poweroff; do ln -s busybox "$root/bin/$a"; done
printf 'hello from an OCI image\n' > "$root/etc/motd"
printf 'hello\n' > "$root/etc/hostname"
chmod 1777 "$root/tmp"
rm -rf blobs index.json oci-layout
mkdir -p blobs/sha256
tar --format=pax --sort=name --owner=0 --group=0 --numeric-owner --mtime=@1704067200 \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$root" -cf "$root.tar" .
diff_id=$(sha256sum < "$root.tar" | cut -d' ' -f1)
gzip -n -9 < "$root.tar" > layer.gz
rm -f "$root.tar"
blob() { d=$(sha256sum < "$1" | cut -d' ' -f1); mv "$1" "blobs/sha256/$d"; echo "$d"; }
layer_size=$(stat -c %s layer.gz)
layer=$(blob layer.gz)
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"2024-01-01T00:00:00Z","created_by":"examples/hello-image/make.sh"}]}' "$diff_id" > config.json
config_size=$(stat -c %s config.json)
config=$(blob config.json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' "$config" "$config_size" "$layer" "$layer_size" > manifest.json
manifest_size=$(stat -c %s manifest.json)
manifest=$(blob manifest.json)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"hello"}}]}' "$manifest" "$manifest_size" > index.json
printf '{"imageLayoutVersion":"1.0.0"}' > oci-layout
