// ADD's local archives (Dockerfile reference, "ADD" — "Adding local tar archives"): a
// source whose content is a tar, plain or compressed with gzip or zstd (told apart by
// magic bytes, as for layers), is extracted instead of copied. The decompressed tar is
// kept in the cache (`add/<sha256 of the archive>`) so that the tree can point into it;
// its entries are applied with the layer code (owners, modes, xattrs, hard links kept).
// bzip2 and xz archives are refused with one line.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CacheTemp, cachePaths } from '../cache.js';
import { applyLayer } from '../oci/apply.js';
import { sniffCompression, zstdDecompress } from '../oci/layer/uncompress.js';
import { readTar } from '../oci/tar.js';
import { type Content, ContentReader, fileContent, readContent, readRange } from '../tree/content.js';
import { Tree } from '../tree/tree.js';

function head(c: Content, n: number): Buffer {
  return Buffer.concat([...readRange(c, 0, Math.min(n, c.size))].map((b) => Buffer.from(b)));
}

/** ustar magic at 257 ("ustar\0" POSIX, "ustar " old GNU). */
function isTar(h: Buffer): boolean {
  return h.length >= 262 && h.subarray(257, 262).toString('latin1') === 'ustar';
}

function contentHash(c: Content): string {
  const h = createHash('sha256');
  for (const b of readContent(c)) h.update(b);
  return h.digest('hex');
}

/** The path of the archive's plain tar, or undefined when the content is not a tar archive. */
async function plainTar(c: Content, what: string, cacheDir: string): Promise<string | undefined> {
  const h = head(c, 512);
  if (
    h.subarray(0, 3).toString('latin1') === 'BZh' ||
    h.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))
  ) {
    throw new Error(
      `${what} is a bzip2 or xz archive, which fledge-pure does not extract; recompress it with gzip or zstd, or COPY it`,
    );
  }
  const compression = sniffCompression(h);
  if (compression === 'none') return isTar(h) ? writeTar(c, [], cacheDir) : undefined;
  const stage: Duplex = compression === 'gzip' ? createGunzip() : Duplex.from(zstdDecompress);
  const path = await writeTar(c, [stage], cacheDir);
  const reader = new ContentReader(fileContent(path, statSync(path).size));
  let first;
  try {
    first = reader.read(0, 512) ?? Buffer.alloc(512);
  } finally {
    reader.close();
  }
  return isTar(first) ? path : undefined;
}

async function writeTar(c: Content, stages: Duplex[], cacheDir: string): Promise<string> {
  const path = join(cachePaths.add(cacheDir), contentHash(c));
  if (existsSync(path)) return path;
  const temp = new CacheTemp(path);
  try {
    await pipeline([Readable.from(readContent(c)), ...stages, createWriteStream(temp.tmp)]);
  } catch (e) {
    temp.drop();
    throw e;
  }
  return temp.commit();
}

/** The archive's entries as a tree, or undefined when the file is not a tar archive. */
export async function archiveTree(c: Content, what: string, cacheDir: string): Promise<Tree | undefined> {
  if (c.size < 4) return undefined;
  let tar: string | undefined;
  try {
    tar = await plainTar(c, what, cacheDir);
  } catch (e) {
    if ((e as Error).message.startsWith(what)) throw e;
    return undefined; // looked compressed but is not: copied as a plain file
  }
  if (!tar) return undefined;
  const tree = new Tree();
  applyLayer(tree, readTar(tar), { layerName: what });
  return tree;
}
