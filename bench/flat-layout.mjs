// The bench image flattened into one uncompressed layer, for the "squashfs lz4, flattened
// input" case: an OCI layout whose only layer (media type ...layer.v1.tar, no compression)
// is a hard link to the flattened tar tar2sqfs reads (made by `fledge-pure export`), and
// whose config is the bench image's with that layer's diff_id. fledge-pure then reads the
// same tree tar2sqfs does, without decompressing or applying whiteouts across layers.
// Made once per bench run, untimed, in the bench's work folder.
import { createHash } from 'node:crypto';
import { createReadStream, linkSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeDerivedLayout } from './derived-layout.mjs';

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
  writeDerivedLayout(layout, image, [`sha256:${hex}`], () => [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${hex}`, size: statSync(flatTar).size },
  ]);
  return { layout, tag: image.tag };
}
