// An OCI layout derived from the bench image's (bench/image.mjs): its config with other
// layers' diff_ids, its manifest with other layer descriptors, its tag. The layer blobs
// are the caller's, already in `layout`/blobs/sha256. Used by bench/changed-image.mjs and
// bench/flat-layout.mjs.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha = (b) => createHash('sha256').update(b).digest('hex');

/**
 * Writes config, manifest, oci-layout and index.json into `layout`: `diffIds` replace the
 * config's, `layers(original)` maps the image's layer descriptors to the new ones.
 */
export function writeDerivedLayout(layout, image, diffIds, layers) {
  const blobs = join(layout, 'blobs/sha256');
  const blob = (obj, mediaType) => {
    const bytes = Buffer.from(JSON.stringify(obj));
    writeFileSync(join(blobs, sha(bytes)), bytes);
    return { mediaType, digest: `sha256:${sha(bytes)}`, size: bytes.length };
  };
  const read = (digest) => JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', digest.slice(7)), 'utf8'));
  const original = JSON.parse(readFileSync(join(image.layout, 'index.json'), 'utf8')).manifests[0];
  const manifest = read(original.digest);
  const config = read(manifest.config.digest);
  config.rootfs.diff_ids = diffIds;
  manifest.config = blob(config, manifest.config.mediaType);
  manifest.layers = layers(manifest.layers);
  const m = blob(manifest, original.mediaType);
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: original.annotations }] }),
  );
}
