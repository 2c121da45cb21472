// An image ready to flatten, wherever it came from: its config blob and, per layer, the
// region holding the layer blob and the digests to check it against. Flattening applies
// the layers oldest first onto one tree (image-spec layer.md).
import { BuildError } from '../errors.js';
import { Tree, type Time } from '../tree/tree.js';
import { applyLayer } from './apply.js';
import type { Region } from './bundle.js';
import { uncompressedLayer } from './layer-file.js';
import { readTar } from './tar.js';

export interface ImageLayer {
  blob: Region;
  /** the uncompressed digest, from the config's rootfs.diff_ids */
  diffId: string;
  /** the blob's own digest, when the source names it */
  digest?: string;
}

export interface LocalImage {
  /** the image as the user named it */
  name: string;
  config: Buffer;
  layers: ImageLayer[];
}

/** The config's rootfs.diff_ids, checked against the number of layers. */
export function diffIds(config: Buffer, layerCount: number, where: string): string[] {
  let ids: unknown;
  try {
    ids = JSON.parse(config.toString('utf8'))?.rootfs?.diff_ids;
  } catch {
    throw new BuildError(`${where}: the image config is not valid JSON`);
  }
  if (!Array.isArray(ids) || ids.some((d) => typeof d !== 'string')) throw new BuildError(`${where}: the image config has no rootfs.diff_ids`);
  if (ids.length !== layerCount) throw new BuildError(`${where}: the image has ${layerCount} layers but its config lists ${ids.length} diff_ids`);
  return ids as string[];
}

/** The image's filesystem: every layer applied in order onto an empty root. */
export async function flatten(image: LocalImage, log: (line: string) => void = () => {}, epoch: Time = { sec: 0, nsec: 0 }): Promise<Tree> {
  const tree = new Tree({ mode: 0o755, mtime: epoch });
  for (const [i, layer] of image.layers.entries()) {
    const where = `${image.name}: layer ${i + 1} of ${image.layers.length} (${layer.digest ?? layer.diffId})`;
    log(where);
    const tar = await uncompressedLayer(layer.blob, layer.diffId, where, layer.digest);
    try {
      applyLayer(tree, readTar(tar, where), { layerName: where, parentAttrs: { mode: 0o755, uid: 0, gid: 0, mtime: epoch } });
    } catch (e) {
      throw e instanceof BuildError ? e : new BuildError((e as Error).message);
    }
  }
  return tree;
}
