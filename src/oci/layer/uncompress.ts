// Layers as plain tar files in the cache, so that the tree can point at file content as
// regions of them instead of holding it. A layer blob — tar, tar+gzip (possibly several
// gzip members) or tar+zstd, told apart by magic bytes as containerd does, whatever the
// media type says — is decompressed once into layers/sha256/<diff_id>; the sha256 of
// the uncompressed bytes must equal the config's rootfs.diff_ids entry
// (image-spec config.md) before the file enters the cache.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CacheTemp, cachePaths, defaultCacheDir } from '../../cache.js';
import { BuildError, ImageError } from '../../errors.js';
import { formatBytes } from '../../limits.js';
import { readRegion, type Region } from '../sources/bundle.js';
import { hasherFor } from '../digest.js';
import { checkFreeSpace, FREE_CHECK_EVERY } from '../../free-space.js';

/** zstd input handed to fzstd at a time: at most 256 RLE blocks (32 MiB) of output per slice */
const ZSTD_SLICE = 1024;

export type Compression = 'none' | 'gzip' | 'zstd';

/** gzip: 1f 8b 08 (RFC 1952); zstd: frame 28 b5 2f fd or a skippable frame 5x 2a 4d 18 (RFC 8878). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length < 4) return 'none'; // too short for any magic: read as a (truncated) tar
  const magic = Buffer.from(head.subarray(0, 4)).readUInt32LE(0);
  if (magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50) return 'zstd';
  return 'none';
}

/**
 * zstd as a pipeline stage. Input goes to fzstd in small slices and each slice's output
 * is yielded (awaiting the consumer) before the next: one RLE block of 4 bytes makes
 * 128 KiB, so a large slice of a zstd bomb would fill memory before any cap saw it.
 */
export async function* zstdDecompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  const { Decompress } = await import('fzstd'); // loaded for zstd layers only
  const z = new Decompress((chunk) => {
    pending.push(Buffer.from(chunk));
  });
  for await (const chunk of source) {
    for (let o = 0; o < chunk.length; o += ZSTD_SLICE) {
      z.push(chunk.subarray(o, o + ZSTD_SLICE));
      yield* pending;
      pending = [];
    }
  }
  z.push(new Uint8Array(0), true);
  yield* pending;
}

/** What one layer may still decompress to, and the free space the cache must keep. */
export interface LayerBudget {
  maxBytes: number;
  /** what maxBytes is, for the message: e.g. "--max-layer-size 64 GiB" */
  limit: string;
  minFreeBytes: number;
}

/** Counts the uncompressed bytes: past the budget, or with the cache's disk nearly full, it stops the pipeline. */
function capStage(budget: LayerBudget, dir: string, where: string): Transform {
  let total = 0;
  let nextCheck = FREE_CHECK_EVERY;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      total += chunk.length;
      if (total > budget.maxBytes) {
        return done(
          new ImageError(
            `${where}: decompresses to more than ${formatBytes(budget.maxBytes)} (${budget.limit}); a ` +
              `compression bomb, or a larger image than allowed — raise the limit if the image is right`,
          ),
        );
      }
      try {
        if (total >= nextCheck)
          [nextCheck] = [total + FREE_CHECK_EVERY, checkFreeSpace(dir, budget.minFreeBytes, where)];
      } catch (e) {
        return done(e as Error);
      }
      done(null, chunk);
    },
  });
}

/** Decompress errors as one line: ours as they are, a full disk named, the rest wrapped. */
function decompressError(e: unknown, compression: Compression, dir: string, where: string): BuildError {
  if (e instanceof BuildError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new BuildError(
      `${where}: the cache ${dir} ran out of space while decompressing; free some space, or point XDG_CACHE_HOME at a larger disk`,
    );
  return new ImageError(`${where}: cannot decompress (${compression}): ${(e as Error).message}`, { cause: e });
}

const NO_BUDGET: LayerBudget = { maxBytes: Number.MAX_SAFE_INTEGER, limit: 'no limit', minFreeBytes: 0 };

/**
 * The path of the layer's uncompressed tar, made once per diff_id ("sha256:<hex>").
 * With `digest`, the compressed bytes are checked against it in the same pass (in its
 * own algorithm). `budget` caps the uncompressed size and keeps free space on the cache.
 */
export async function uncompressedLayer(
  blob: Region,
  diffId: string,
  where: string,
  digest?: string,
  budget: LayerBudget = NO_BUDGET,
  cacheDir = defaultCacheDir(),
): Promise<string> {
  const hex = diffId.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new ImageError(`${where}: diff_id ${diffId} is not a sha256 digest`);
  const dir = cachePaths.layers(cacheDir);
  const path = join(dir, hex);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  checkFreeSpace(dir, budget.minFreeBytes, where);
  const hash = createHash('sha256');
  const blobHash = digest ? hasherFor(digest, where) : createHash('sha256');
  const compression = sniffCompression(readRegion({ ...blob, length: Math.min(4, blob.length) }));
  const stages: Duplex[] = [];
  if (compression === 'gzip') stages.push(createGunzip());
  if (compression === 'zstd') stages.push(Duplex.from(zstdDecompress));
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const temp = new CacheTemp(path);
  try {
    // an empty blob is an empty layer (a read stream cannot end before its start)
    const source = blob.length
      ? createReadStream(blob.file, { start: blob.from, end: blob.from + blob.length - 1 })
      : Readable.from([]);
    source.on('data', (chunk: Buffer) => blobHash.update(chunk));
    await pipeline([source, ...stages, capStage(budget, dir, where), hashing, createWriteStream(temp.tmp)]);
    return temp.commit(() => checkDigests(blobHash.digest('hex'), hash.digest('hex'), { digest, diffId, where }));
  } catch (e) {
    throw decompressError(e, compression, dir, where);
  } finally {
    temp.drop();
  }
}

function checkDigests(blobHex: string, layerHex: string, o: { digest?: string; diffId: string; where: string }): void {
  const gotBlob = `${o.digest?.split(':')[0] ?? 'sha256'}:${blobHex}`;
  if (o.digest && gotBlob !== o.digest) {
    throw new ImageError(
      `${o.where}: blob has ${gotBlob}, but the manifest says ${o.digest}; the image is corrupt — pull or save it again`,
    );
  }
  if (`sha256:${layerHex}` !== o.diffId) {
    throw new ImageError(
      `${o.where}: uncompressed layer has sha256:${layerHex}, but the image config's rootfs.diff_ids ` +
        `says ${o.diffId}; the image is corrupt — pull it again or rebuild it`,
    );
  }
}
