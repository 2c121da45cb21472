// OCI image layouts (image-spec image-layout.md): a folder — or, for oci-archive, a tar
// of one — holding `oci-layout` {"imageLayoutVersion"}, `index.json` and
// `blobs/<alg>/<hex>`. The image is picked by its org.opencontainers.image.ref.name
// annotation (or is the only one), then by platform through nested indexes. A layer
// whose blob the layout lacks but whose descriptor has `urls` (a foreign or
// non-distributable layer, which copying tools may leave out) comes from those urls
// through the blob cache, as for a registry pull.
import { ImageError } from '../../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../limits.js';
import { type Bundle, type Region, readFromBundle, readJson } from './bundle.js';
import { splitDigest, verifyDigest } from '../digest.js';
import { diffIds, type LocalImage } from '../image.js';
import { blobLayer } from '../layer/layer.js';
import {
  type Descriptor,
  type ImageIndex,
  kindOf,
  offeredPlatforms,
  type Platform,
  formatPlatform,
  selectPlatform,
} from '../manifest.js';
import { checkIndex, checkManifest, parseDocument } from '../shape.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_DOC = DEFAULT_LIMITS.maxManifestBytes;
const MAX_CONFIG = DEFAULT_LIMITS.maxConfigBytes;

function blobPath(d: Descriptor, where: string): string {
  const { algorithm, hex } = splitDigest(d.digest, where);
  return `blobs/${algorithm}/${hex}`;
}

/** A small blob (manifest, index, config) of at most `max` bytes, checked against its digest before anyone parses it. */
function readBlob(b: Bundle, d: Descriptor, what: string, max: number): Buffer {
  if (d.size > max)
    throw new ImageError(
      `${b.where}: ${what} ${d.digest} is ${d.size} bytes, more than the ${max} such a document may have; the layout is malformed`,
    );
  const bytes = readFromBundle(b, blobPath(d, b.where), max);
  verifyDigest(bytes, d.digest, b.where, what);
  return bytes;
}

function pickByName(index: ImageIndex, refName: string | undefined, where: string): Descriptor {
  const names = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((n): n is string => !!n);
  if (refName !== undefined) {
    const found = index.manifests.find((d) => d.annotations?.[REF_NAME] === refName);
    if (!found)
      throw new ImageError(
        `${where}: no image named "${refName}" in index.json (it has: ${names.join(', ') || 'no named images'})`,
      );
    return found;
  }
  if (index.manifests.length === 1) return index.manifests[0];
  throw new ImageError(
    `${where}: index.json holds ${index.manifests.length} images; name one as PATH:NAME (names: ${names.join(', ') || 'none'})`,
  );
}

interface LayoutOptions {
  log?: (line: string) => void;
  limits?: Partial<Limits>;
  cacheDir: string;
}

async function layerRegion(b: Bundle, l: Descriptor, o: LayoutOptions): Promise<Region> {
  const inLayout = b.region(blobPath(l, b.where));
  if (inLayout) return inLayout;
  if (!l.urls?.length) throw new ImageError(`${b.where}: layer blob ${l.digest} is missing`);
  const { foreignBlob } = await import('../remote/urls.js'); // network code, for foreign layers only
  const file = await foreignBlob(l, b.where, 'is not in the layout', {
    ...o,
    fix: `put it into the layout as ${blobPath(l, b.where)}`,
  });
  return { file, from: 0, length: l.size };
}

export async function layoutImage(
  b: Bundle,
  refName: string | undefined,
  platform: Platform,
  name: string,
  o: LayoutOptions,
): Promise<LocalImage> {
  const version = (readJson(b, 'oci-layout') as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (version !== '1.0.0')
    throw new ImageError(
      `${b.where}: oci-layout says imageLayoutVersion ${JSON.stringify(version)}; only 1.0.0 is known`,
    );
  let d = pickByName(checkIndex(readJson(b, 'index.json'), b.where, 'index.json'), refName, b.where);
  for (let depth = 0; kindOf(d.mediaType) === 'index'; depth++) {
    if (depth > 8) throw new ImageError(`${b.where}: indexes nested too deep`);
    const index = checkIndex(
      parseDocument(readBlob(b, d, 'index', MAX_DOC), b.where, `index ${d.digest}`),
      b.where,
      `index ${d.digest}`,
    );
    const chosen = selectPlatform(index, platform);
    if (!chosen)
      throw new ImageError(
        `${b.where}: no image for ${formatPlatform(platform)} (offered: ${offeredPlatforms(index).join(', ')}); pass --platform`,
      );
    d = chosen;
  }
  if (kindOf(d.mediaType) !== 'image')
    throw new ImageError(`${b.where}: ${d.digest} has media type ${d.mediaType}, not an image manifest`);
  const doc = `manifest ${d.digest}`;
  const manifest = checkManifest(parseDocument(readBlob(b, d, 'manifest', MAX_DOC), b.where, doc), b.where, doc);
  const config = readBlob(b, manifest.config, 'config', MAX_CONFIG);
  const ids = diffIds(config, manifest.layers.length, b.where);
  return {
    name,
    config,
    layers: await Promise.all(
      manifest.layers.map(async (l, i) => blobLayer(await layerRegion(b, l, o), ids[i], l.digest, o.cacheDir)),
    ),
  };
}
