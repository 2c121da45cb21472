// From an image source as the user writes it (skopeo's transports, or a plain
// reference) to a LocalImage: registry pulls go through the verified blob cache;
// archives and layouts are read in place. The code of each transport but the local
// layout's is loaded when a source asks for it (a build from a cached layout loads no
// network code).
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { defaultCacheDir } from '../../cache.js';
import { ImageError, NetworkError, UsageError } from '../../errors.js';
import type { Limits } from '../../limits.js';
import { dirBundle, tarBundle } from './bundle.js';
import { diffIds, type LocalImage } from '../image.js';
import { blobLayer } from '../layer/layer.js';
import { layoutImage } from './layout.js';
import { parsePlatform, type Platform } from '../manifest.js';
import { formatReference, type ImageRef, parseSource } from '../reference.js';

export interface SourceOptions {
  /** os/arch[/variant]; default linux/amd64 */
  platform?: string;
  insecure?: string[];
  /** relative archive and layout paths resolve against it */
  cwd?: string;
  log?: (line: string) => void;
  /** timeouts and caps (src/limits.ts) */
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts); default defaultCacheDir() */
  cacheDir?: string;
}

function platformOf(text: string | undefined): Platform {
  if (text === undefined) return { os: 'linux', architecture: 'amd64' };
  const p = parsePlatform(text);
  if (!p) throw new UsageError(`--platform ${text}: write it as os/arch[/variant], e.g. linux/arm64`);
  return p;
}

/** The image's short name, for artifact names: `nginx` for docker.io/library/nginx:1.25. */
export function imageName(text: string): string {
  const s = parseSource(text);
  if ('ref' in s && typeof s.ref === 'object') return s.ref.repository.split('/').pop()!;
  if ('path' in s)
    return (
      (s.ref && !s.ref.startsWith('@')
        ? s.ref.split('/').pop()!.split(':')[0]
        : basename(s.path).replace(/\.(tar|oci)$/, '')) || 'plugin'
    );
  return 'plugin';
}

/** A registry image (a plain reference asks the local daemon first, as Fledge does: seed 000). */
async function registryImage(
  ref: ImageRef,
  text: string,
  plain: boolean,
  platform: Platform,
  o: SourceOptions & { cacheDir: string },
): Promise<LocalImage> {
  const { daemonEndpoint, saveFromDaemon } = await import('./daemon.js');
  const endpoint = plain ? daemonEndpoint() : undefined;
  if (endpoint) {
    const saved = await saveFromDaemon(endpoint, formatReference(ref), o.cacheDir);
    if (saved)
      return (await import('./docker-archive.js')).dockerArchiveImage(tarBundle(saved), undefined, text, o.cacheDir);
    o.log?.(`image: the docker daemon does not have ${formatReference(ref)}; trying its registry`);
  }
  const { pullImage } = await import('../remote/registry.js');
  const pulled = await pullImage(ref, {
    platform,
    insecure: o.insecure,
    log: o.log,
    limits: o.limits,
    cacheDir: o.cacheDir,
  });
  const ids = diffIds(pulled.config, pulled.layers.length, pulled.reference);
  return {
    name: pulled.reference,
    config: pulled.config,
    layers: pulled.layers.map((l, i) =>
      blobLayer({ file: l.path, from: 0, length: statSync(l.path).size }, ids[i], undefined, o.cacheDir),
    ),
  };
}

export async function openImage(text: string, o: SourceOptions = {}): Promise<LocalImage> {
  const source = parseSource(text);
  const plain = !text.startsWith('docker://');
  const platform = platformOf(o.platform);
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  switch (source.transport) {
    case 'docker':
      return registryImage(source.ref, text, plain, platform, { ...o, cacheDir });
    case 'docker-daemon': {
      const { daemonEndpoint, saveFromDaemon } = await import('./daemon.js');
      const { dockerArchiveImage } = await import('./docker-archive.js');
      const endpoint = daemonEndpoint();
      const name = 'ref' in source ? formatReference(source.ref) : source.imageId;
      if (!endpoint)
        throw new NetworkError(
          `${text}: no docker daemon socket (none at DOCKER_HOST or /var/run/docker.sock); start Docker, or use a docker-archive: or oci: source`,
        );
      const saved = await saveFromDaemon(endpoint, name, cacheDir);
      if (!saved) throw new ImageError(`${text}: the docker daemon has no image ${name}; pull or build it first`);
      return dockerArchiveImage(tarBundle(saved), undefined, text, cacheDir);
    }
    case 'docker-archive':
      return (await import('./docker-archive.js')).dockerArchiveImage(
        tarBundle(resolve(o.cwd ?? '.', source.path)),
        source.ref,
        text,
        cacheDir,
      );
    case 'oci':
      return layoutImage(dirBundle(resolve(o.cwd ?? '.', source.path)), source.ref, platform, text, { ...o, cacheDir });
    case 'oci-archive':
      return layoutImage(tarBundle(resolve(o.cwd ?? '.', source.path)), source.ref, platform, text, { ...o, cacheDir });
  }
}
