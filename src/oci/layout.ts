// OCI image layouts (image-spec image-layout.md): a folder — or, for oci-archive, a tar
// of one — holding `oci-layout` {"imageLayoutVersion"}, `index.json` and
// `blobs/<alg>/<hex>`. The image is picked by its org.opencontainers.image.ref.name
// annotation (or is the only one), then by platform through nested indexes. A layer
// whose blob the layout lacks but whose descriptor has `urls` (a foreign or
// non-distributable layer, which copying tools may leave out) comes from those urls
// through the blob cache, as for a registry pull.
import { createHash } from 'node:crypto';
import { BuildError } from '../errors.js';
import { type Bundle, type Region, readFromBundle, readJson } from './bundle.js';
import { cachedBlob } from './cache.js';
import { blobFromUrls } from './foreign.js';
import { diffIds, type LocalImage } from './image.js';
import { type Descriptor, type ImageIndex, type ImageManifest, kindOf, offeredPlatforms, type Platform, formatPlatform, selectPlatform } from './manifest.js';

const REF_NAME = 'org.opencontainers.image.ref.name';

function blobPath(d: Descriptor, where: string): string {
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(d.digest);
  if (!m) throw new BuildError(`${where}: invalid digest ${d.digest}`);
  return `blobs/${m[1]}/${m[2]}`;
}

/** A small blob (manifest, index, config), checked against its digest. */
function readBlob(b: Bundle, d: Descriptor): Buffer {
  const bytes = readFromBundle(b, blobPath(d, b.where));
  const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (d.digest.startsWith('sha256:') && got !== d.digest) throw new BuildError(`${b.where}: blob ${d.digest} has ${got}; the layout is corrupt`);
  return bytes;
}

function pickByName(index: ImageIndex, refName: string | undefined, where: string): Descriptor {
  const names = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((n): n is string => !!n);
  if (refName !== undefined) {
    const found = index.manifests.find((d) => d.annotations?.[REF_NAME] === refName);
    if (!found) throw new BuildError(`${where}: no image named "${refName}" in index.json (it has: ${names.join(', ') || 'no named images'})`);
    return found;
  }
  if (index.manifests.length === 1) return index.manifests[0];
  throw new BuildError(`${where}: index.json holds ${index.manifests.length} images; name one as PATH:NAME (names: ${names.join(', ') || 'none'})`);
}

async function layerRegion(b: Bundle, l: Descriptor, log?: (line: string) => void): Promise<Region> {
  const inLayout = b.region(blobPath(l, b.where));
  if (inLayout) return inLayout;
  if (!l.urls?.length) throw new BuildError(`${b.where}: layer blob ${l.digest} is missing`);
  const file = cachedBlob(l.digest, l.size) ?? (await blobFromUrls(l, b.where, 'is not in the layout', { log, fix: `put it into the layout as ${blobPath(l, b.where)}` }));
  return { file, from: 0, length: l.size };
}

export async function layoutImage(b: Bundle, refName: string | undefined, platform: Platform, name: string, log?: (line: string) => void): Promise<LocalImage> {
  const version = readJson<{ imageLayoutVersion?: string }>(b, 'oci-layout').imageLayoutVersion;
  if (version !== '1.0.0') throw new BuildError(`${b.where}: oci-layout says imageLayoutVersion ${JSON.stringify(version)}; only 1.0.0 is known`);
  let d = pickByName(readJson<ImageIndex>(b, 'index.json'), refName, b.where);
  for (let depth = 0; kindOf(d.mediaType) === 'index'; depth++) {
    if (depth > 8) throw new BuildError(`${b.where}: indexes nested too deep`);
    const index = JSON.parse(readBlob(b, d).toString('utf8')) as ImageIndex;
    const chosen = selectPlatform(index, platform);
    if (!chosen) throw new BuildError(`${b.where}: no image for ${formatPlatform(platform)} (offered: ${offeredPlatforms(index).join(', ')}); pass --platform`);
    d = chosen;
  }
  if (kindOf(d.mediaType) !== 'image') throw new BuildError(`${b.where}: ${d.digest} has media type ${d.mediaType}, not an image manifest`);
  const manifest = JSON.parse(readBlob(b, d).toString('utf8')) as ImageManifest;
  const config = readBlob(b, manifest.config);
  const ids = diffIds(config, manifest.layers.length, b.where);
  return {
    name,
    config,
    layers: await Promise.all(manifest.layers.map(async (l, i) => ({ blob: await layerRegion(b, l, log), diffId: ids[i], digest: l.digest }))),
  };
}
