// What every image source supplies per layer, as go-containerregistry's v1.Layer is all
// a source has to supply: the layer's digests and its verified uncompressed tar. Each
// source holds the compressed blob as a region of a file on disk — the blob cache for a
// registry pull or a foreign layer, `blobs/` of an OCI layout, the archive itself for
// docker-archive, oci-archive and a daemon's save — so one kind of layer serves them all.
import type { Region } from '../sources/bundle.js';
import { type LayerBudget, uncompressedLayer } from './uncompress.js';

export interface Layer {
  /** the uncompressed digest, from the config's rootfs.diff_ids */
  diffId: string;
  /** the blob's own digest, when the source names it */
  digest?: string;
  /** The path of the layer's uncompressed tar, checked against diffId (and digest); `where` names it in messages, `budget` caps it. */
  uncompressed(where: string, budget: LayerBudget): Promise<string>;
}

/** The layer whose compressed (or plain) blob is `blob`; its tar is made in the cache under `cacheDir`. */
export function blobLayer(blob: Region, diffId: string, digest: string | undefined, cacheDir: string): Layer {
  return {
    diffId,
    digest,
    uncompressed: (where, budget) => uncompressedLayer(blob, diffId, where, digest, budget, cacheDir),
  };
}
