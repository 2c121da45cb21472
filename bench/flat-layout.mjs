// The bench image flattened into one uncompressed layer, for the "squashfs lz4, flattened
// input" case: an OCI layout whose only layer (media type ...layer.v1.tar, no compression)
// is a hard link to the flattened tar tar2sqfs reads (made by `fledge-pure export`), and
// whose config is the bench image's with that layer's diff_id. fledge-pure then reads the
// same tree tar2sqfs does, without decompressing or applying whiteouts across layers.
// Made once per bench run, untimed, in the bench's work folder.
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const sha = (b) => createHash('sha256').update(b).digest('hex');

async function fileSha(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** The one-layer layout ({ layout, tag }) of `flatTar`, made in `dir`, config and tag from `image`. */
export async function flatLayout(dir, flatTar, image) {
  const layout = join(dir, 'flat-layout');
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const hex = await fileSha(flatTar);
  linkSync(flatTar, join(blobs, hex));
  const blob = (obj, mediaType) => {
    const bytes = Buffer.from(JSON.stringify(obj));
    writeFileSync(join(blobs, sha(bytes)), bytes);
    return { mediaType, digest: `sha256:${sha(bytes)}`, size: bytes.length };
  };
  const original = JSON.parse(readFileSync(join(image.layout, 'index.json'), 'utf8')).manifests[0];
  const manifest = JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', original.digest.slice(7)), 'utf8'));
  const config = JSON.parse(readFileSync(join(image.layout, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
  config.rootfs.diff_ids = [`sha256:${hex}`];
  manifest.config = blob(config, manifest.config.mediaType);
  manifest.layers = [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: statSync(flatTar).size },
  ];
  const m = blob(manifest, original.mediaType);
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: original.annotations }] }),
  );
  return { layout, tag: image.tag };
}
