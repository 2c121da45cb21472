// `fledge-pure export` and `inspect`: the flattened image as a tar, or as a listing.
import { createHash } from 'node:crypto';
import { ArtifactFile } from '../artifact.js';
import { plainStream } from '../compress.js';
import { flatten } from '../oci/image.js';
import { openImage, type SourceOptions } from '../oci/sources/open.js';
import { type Content, holeBytes, layoutDigest, readContent } from '../tree/content.js';
import { quoteName } from '../tree/quote.js';
import type { Tree } from '../tree/tree.js';
import { drain } from '../chunks.js';
import { paxTarChunks } from './tar.js';

async function imageTree(image: string, o: SourceOptions): Promise<{ tree: Tree; config: Buffer }> {
  const local = await openImage(image, o);
  return { tree: await flatten(local, o.log, undefined, o.limits), config: local.config };
}

/** Writes the image's filesystem to `output` as a PAX tar; returns its sha256. */
export async function exportImage(
  image: string,
  output: string,
  o: SourceOptions = {},
): Promise<{ sha256: string; skipped: string[] }> {
  const { tree } = await imageTree(image, o);
  const file = new ArtifactFile(output);
  try {
    const stream = plainStream((chunk) => file.write(chunk));
    const skipped = await drain(paxTarChunks(tree), (chunk) => stream.write(chunk));
    stream.end();
    return { sha256: file.commit(), skipped };
  } catch (e) {
    file.abort();
    throw e;
  }
}

/** A file whose holes add up to more than this is listed by layoutDigest, not by the sha256 of every zero. */
export const SPARSE_LISTING = 64 << 20;

/**
 * What the listing shows for a file: the sha256 of its bytes, or for a file with more
 * than 64 MiB of holes "sparse:" and the sha256 of its data map and data (hashing the
 * zeros of a 1 TiB hole would take minutes; the holes are known).
 */
export function fileDigest(c: Content): string {
  if (holeBytes(c) > SPARSE_LISTING) return `sparse:${layoutDigest(c)}`;
  const h = createHash('sha256');
  for (const chunk of readContent(c)) h.update(chunk);
  return h.digest('hex');
}

/**
 * The config summary, then one line per entry: type mode uid:gid size sha256|target
 * path. Names and targets are quoted as GNU tar quotes them (an escape sequence or a
 * newline in a name never reaches the terminal raw).
 */
export async function inspectImage(image: string, o: SourceOptions = {}): Promise<string> {
  const { tree, config } = await imageTree(image, o);
  const c = JSON.parse(config.toString('utf8'));
  const lines = [
    `image: ${image}`,
    `platform: ${[c.os, c.architecture, c.variant].filter(Boolean).join('/')}`,
    ...['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts']
      .filter((k) => c.config?.[k] !== undefined)
      .map((k) => `${k}: ${JSON.stringify(c.config[k])}`),
    '',
  ];
  for (const { path, node } of tree.walk()) {
    let what = '-';
    if (node.type === 'file') {
      what = fileDigest(node.content);
    } else if (node.type === 'symlink') {
      what = `-> ${quoteName(node.target)}`;
    } else if (node.type === 'char' || node.type === 'block') {
      what = `${node.rdev.major},${node.rdev.minor}`;
    }
    const size = node.type === 'file' ? node.content.size : 0;
    lines.push(
      `${node.type.padEnd(7)} ${node.mode.toString(8).padStart(4, '0')} ${node.uid}:${node.gid} ${size} ${what} /${quoteName(path)}`,
    );
  }
  return lines.join('\n') + '\n';
}
