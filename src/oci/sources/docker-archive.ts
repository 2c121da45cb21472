// `docker save` archives. Both shapes carry a manifest.json: an array of
// {Config, RepoTags, Layers} naming files inside the archive — `<id>/layer.tar` (often
// symlinks to each other) in the legacy shape, `blobs/sha256/<hex>` in Docker 25+'s
// OCI-shaped one (moby image/tarexport). Layer files are plain or compressed tars whose
// uncompressed digests are the config's rootfs.diff_ids.
import { ImageError } from '../../errors.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { type Bundle, readFromBundle, readJson } from './bundle.js';
import { verifyDigest } from '../digest.js';
import { diffIds, type LocalImage } from '../image.js';
import { blobLayer } from '../layer/layer.js';
import { formatReference, parseReference } from '../reference.js';
import { checkDockerSave, type SaveEntry } from '../shape.js';

/** The config's sha256 when its name carries it: `blobs/sha256/<hex>` (Docker 25+) or `<hex>.json` (legacy). */
function configDigest(path: string): string | undefined {
  const hex = /^(?:blobs\/sha256\/([0-9a-f]{64})|([0-9a-f]{64})\.json)$/.exec(path);
  return hex ? `sha256:${hex[1] ?? hex[2]}` : undefined;
}

function normalized(tag: string): string {
  try {
    return formatReference(parseReference(tag));
  } catch {
    return tag;
  }
}

/** `ref` picks an image by tag, or `@N` by position; with one image it may be left out. Layer tars are made under `cacheDir`. */
export function dockerArchiveImage(b: Bundle, ref: string | undefined, name: string, cacheDir: string): LocalImage {
  const entries = checkDockerSave(readJson(b, 'manifest.json'), b.where);
  const tags = entries.flatMap((e) => e.RepoTags ?? []);
  let entry: SaveEntry | undefined;
  if (ref === undefined) {
    if (entries.length > 1)
      throw new ImageError(
        `${b.where}: holds ${entries.length} images; name one as docker-archive:PATH:TAG (tags: ${tags.join(', ')})`,
      );
    entry = entries[0];
  } else if (/^@\d+$/.test(ref)) {
    entry = entries[Number(ref.slice(1))];
  } else {
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => normalized(t) === normalized(ref)));
  }
  if (!entry)
    throw new ImageError(`${b.where}: no image ${ref} (tags: ${tags.join(', ') || 'none'}; or use @0, @1, …)`);
  const config = readFromBundle(b, entry.Config, DEFAULT_LIMITS.maxConfigBytes);
  const digest = configDigest(entry.Config);
  if (digest) verifyDigest(config, digest, b.where, 'config');
  const ids = diffIds(config, entry.Layers.length, b.where);
  return {
    name,
    config,
    layers: entry.Layers.map((path, i) => {
      const blob = b.region(path);
      if (!blob) throw new ImageError(`${b.where}: layer ${path} named by manifest.json is missing`);
      const hex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path)?.[1];
      return blobLayer(blob, ids[i], hex ? `sha256:${hex}` : undefined, cacheDir);
    }),
  };
}
