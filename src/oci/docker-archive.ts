// `docker save` archives. Both shapes carry a manifest.json: an array of
// {Config, RepoTags, Layers} naming files inside the archive — `<id>/layer.tar` (often
// symlinks to each other) in the legacy shape, `blobs/sha256/<hex>` in Docker 25+'s
// OCI-shaped one (moby image/tarexport). Layer files are plain or compressed tars whose
// uncompressed digests are the config's rootfs.diff_ids.
import { BuildError } from '../errors.js';
import { type Bundle, readFromBundle, readJson } from './bundle.js';
import { diffIds, type LocalImage } from './image.js';
import { formatReference, parseReference } from './reference.js';

interface SaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function normalized(tag: string): string {
  try {
    return formatReference(parseReference(tag));
  } catch {
    return tag;
  }
}

/** `ref` picks an image by tag, or `@N` by position; with one image it may be left out. */
export function dockerArchiveImage(b: Bundle, ref: string | undefined, name: string): LocalImage {
  const entries = readJson<SaveEntry[]>(b, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw new BuildError(`${b.where}: manifest.json lists no images; is this a docker save archive?`);
  const tags = entries.flatMap((e) => e.RepoTags ?? []);
  let entry: SaveEntry | undefined;
  if (ref === undefined) {
    if (entries.length > 1) throw new BuildError(`${b.where}: holds ${entries.length} images; name one as docker-archive:PATH:TAG (tags: ${tags.join(', ')})`);
    entry = entries[0];
  } else if (/^@\d+$/.test(ref)) {
    entry = entries[Number(ref.slice(1))];
  } else {
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => normalized(t) === normalized(ref)));
  }
  if (!entry) throw new BuildError(`${b.where}: no image ${ref} (tags: ${tags.join(', ') || 'none'}; or use @0, @1, …)`);
  const config = readFromBundle(b, entry.Config);
  const ids = diffIds(config, entry.Layers.length, b.where);
  return {
    name,
    config,
    layers: entry.Layers.map((path, i) => {
      const blob = b.region(path);
      if (!blob) throw new BuildError(`${b.where}: layer ${path} named by manifest.json is missing`);
      const hex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(path)?.[1];
      return { blob, diffId: ids[i], digest: hex ? `sha256:${hex}` : undefined };
    }),
  };
}
