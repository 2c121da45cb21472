// An image ready to flatten, wherever it came from: its config blob and its layers
// (src/oci/layer/layer.ts). Flattening is: for each layer, oldest first, apply its
// uncompressed tar onto one tree (image-spec layer.md).
import { statSync } from 'node:fs';
import { BuildError, ImageError } from '../errors.js';
import { type Limits, formatBytes, limitsWith } from '../limits.js';
import { Tree, type Time } from '../tree/tree.js';
import { applyLayer } from './apply.js';
import type { Layer } from './layer/layer.js';
import type { LayerBudget } from './layer/uncompress.js';
import { configDiffIds, parseDocument } from './shape.js';
import { readTar } from './tar.js';

export interface LocalImage {
  /** the image as the user named it */
  name: string;
  config: Buffer;
  layers: Layer[];
}

/** The config's rootfs.diff_ids, checked against the number of layers. */
export function diffIds(config: Buffer, layerCount: number, where: string): string[] {
  const ids = configDiffIds(parseDocument(config, where, 'image config'), where);
  if (ids.length !== layerCount)
    throw new ImageError(`${where}: the image has ${layerCount} layers but its config lists ${ids.length} diff_ids`);
  return ids as string[];
}

/** What the next layer may decompress to: the per-layer cap, or what is left of the per-image one. */
function layerBudget(limits: Limits, used: number): LayerBudget {
  const left = limits.maxImageBytes - used;
  if (left < limits.maxLayerBytes)
    return {
      maxBytes: left,
      limit: `the image's layers together may have ${formatBytes(limits.maxImageBytes)}, --max-image-size`,
      minFreeBytes: limits.minFreeBytes,
    };
  return {
    maxBytes: limits.maxLayerBytes,
    limit: `a layer may have ${formatBytes(limits.maxLayerBytes)}, --max-layer-size`,
    minFreeBytes: limits.minFreeBytes,
  };
}

/** The image's filesystem: every layer applied in order onto an empty root; `limits` caps what the layers decompress to. */
export async function flatten(
  image: LocalImage,
  log: (line: string) => void = () => {},
  epoch: Time = { sec: 0, nsec: 0 },
  limits: Partial<Limits> = {},
): Promise<Tree> {
  const tree = new Tree({ mode: 0o755, mtime: epoch });
  const caps = limitsWith(limits);
  let used = 0;
  for (const [i, layer] of image.layers.entries()) {
    const where = `${image.name}: layer ${i + 1} of ${image.layers.length} (${layer.digest ?? layer.diffId})`;
    log(where);
    const budget = layerBudget(caps, used);
    const tar = await layer.uncompressed(where, budget);
    used += statSync(tar).size;
    if (used > caps.maxImageBytes)
      throw new ImageError(
        `${where}: the image's layers decompress to more than ${formatBytes(caps.maxImageBytes)} (--max-image-size); raise the limit if the image is right`,
      );
    try {
      applyLayer(tree, readTar(tar, where), {
        layerName: where,
        parentAttrs: { mode: 0o755, uid: 0, gid: 0, mtime: epoch },
      });
    } catch (e) {
      throw e instanceof BuildError ? e : new ImageError((e as Error).message, { cause: e });
    }
  }
  return tree;
}
