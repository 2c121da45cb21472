// The bench image with one file changed in its top layer, for the warm-rebuild case: the
// top layer's tar with one byte of one file's content flipped (same length, so nothing
// else in the tar moves), gzip -n, and an OCI layout beside the bench image's whose other
// layers are hard links to the same blobs. Made once, next to the image in the bench cache.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDerivedLayout } from './derived-layout.mjs';

/** The file changed: in the top layer, one data block and a tail (151 344 bytes). */
export const CHANGED_FILE = './opt/bench/bin/tool';

const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Flips the middle byte of `name`'s content in a tar (ustar headers; pax headers skipped as entries). */
function flipInTar(tar, name) {
  for (let at = 0; at + 512 <= tar.length;) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const field = (from, len) =>
      h
        .subarray(from, from + len)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    if (type === '0' && field(0, 100) === name && size > 0) {
      tar[at + 512 + (size >> 1)] ^= 0xff;
      return;
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not a regular file of the top layer`);
}

/** The changed image's layout ({ layout, tag }), made once under `cache`. */
export function changedImage(cache, image, layerTars) {
  const dir = join(cache, `${image.info.version}-one-file-changed`);
  const layout = join(dir, 'layout');
  if (existsSync(join(dir, 'done'))) return { layout, tag: image.tag };
  rmSync(dir, { recursive: true, force: true });
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = image.info.layers.map((l) => ({ ...l }));
  for (const l of layers.slice(0, -1)) {
    const hex = l.digest.replace(/^sha256:/, '');
    linkSync(join(image.layout, 'blobs/sha256', hex), join(blobs, hex));
  }
  const tar = readFileSync(layerTars.at(-1));
  flipInTar(tar, CHANGED_FILE);
  const gz = execFileSync('gzip', ['-n', '-6', '-c'], { input: tar, maxBuffer: 1 << 30 });
  const top = layers.at(-1);
  top.diffId = `sha256:${sha(tar)}`;
  top.digest = `sha256:${sha(gz)}`;
  top.size = gz.length;
  writeFileSync(join(blobs, sha(gz)), gz);
  writeDerivedLayout(
    layout,
    image,
    layers.map((l) => l.diffId),
    (original) => layers.map((l, i) => ({ ...original[i], digest: l.digest, size: l.size })),
  );
  writeFileSync(join(dir, 'done.tmp'), '');
  renameSync(join(dir, 'done.tmp'), join(dir, 'done'));
  return { layout, tag: image.tag };
}
