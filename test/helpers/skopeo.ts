// The environment skopeo runs in, so that it writes nothing outside the run's TMPDIR.
// containers/image keeps a blob-info cache in /var/lib/containers/cache when run as root
// and in $XDG_DATA_HOME/containers/cache otherwise (pkg/blobinfocache/default.go,
// blobInfoCacheDir); skopeo has no flag to move it. Whether it counts as root is read
// from _CONTAINERS_ROOTLESS_UID before geteuid() (internal/rootless/rootless.go,
// GetRootlessEUID): set to a non-zero uid, the cache goes under XDG_DATA_HOME, here
// inside TMPDIR. Nothing else skopeo does for oci:, docker-archive: and docker:// copies
// depends on it (it reads auth files, which the tests do not use for skopeo).
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function skopeoEnv(): NodeJS.ProcessEnv {
  return { ...process.env, _CONTAINERS_ROOTLESS_UID: '1', XDG_DATA_HOME: join(tmpdir(), 'skopeo-data') };
}
