// Layers as plain tar files in the cache, so that the tree can point at file content as
// regions of them instead of holding it. A layer blob — tar, tar+gzip (possibly several
// gzip members) or tar+zstd, told apart by magic bytes as containerd does, whatever the
// media type says — is decompressed once into layers/sha256/<diff_id>; the sha256 of
// the uncompressed bytes must equal the config's rootfs.diff_ids entry
// (image-spec config.md) before the file enters the cache.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { cacheDir } from '../download.js';
import { BuildError } from '../errors.js';
import { readRegion, type Region } from './bundle.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** gzip: 1f 8b 08 (RFC 1952); zstd: frame 28 b5 2f fd or a skippable frame 5x 2a 4d 18 (RFC 8878). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length < 4) return 'none'; // too short for any magic: read as a (truncated) tar
  const magic = Buffer.from(head.subarray(0, 4)).readUInt32LE(0);
  if (magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50) return 'zstd';
  return 'none';
}

export function zstdTransform(): Transform {
  let pending: Uint8Array[] = [];
  const z = new Decompress((chunk) => {
    pending.push(Uint8Array.from(chunk));
  });
  const flush = (t: Transform) => {
    for (const c of pending) t.push(c);
    pending = [];
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      try {
        z.push(chunk);
        flush(this);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        z.push(new Uint8Array(0), true);
        flush(this);
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
}

/**
 * The path of the layer's uncompressed tar, made once per diff_id ("sha256:<hex>").
 * With `digest`, the compressed bytes are checked against it in the same pass.
 */
export async function uncompressedLayer(blob: Region, diffId: string, where: string, digest?: string): Promise<string> {
  const hex = diffId.replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new BuildError(`${where}: diff_id ${diffId} is not a sha256 digest`);
  const dir = join(cacheDir(), 'layers', 'sha256');
  const path = join(dir, hex);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.partial`;
  const hash = createHash('sha256');
  const blobHash = createHash('sha256');
  const compression = sniffCompression(readRegion({ ...blob, length: Math.min(4, blob.length) }));
  const stages: Transform[] = [];
  if (compression === 'gzip') stages.push(createGunzip());
  if (compression === 'zstd') stages.push(zstdTransform());
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    // an empty blob is an empty layer (a read stream cannot end before its start)
    const source = blob.length ? createReadStream(blob.file, { start: blob.from, end: blob.from + blob.length - 1 }) : Readable.from([]);
    source.on('data', (chunk: Buffer) => blobHash.update(chunk));
    await pipeline([source, ...stages, hashing, createWriteStream(tmp)]);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new BuildError(`${where}: cannot decompress (${compression}): ${(e as Error).message}`);
  }
  const gotBlob = `sha256:${blobHash.digest('hex')}`;
  if (digest && gotBlob !== digest) {
    rmSync(tmp, { force: true });
    throw new BuildError(`${where}: blob has ${gotBlob}, but the manifest says ${digest}; the image is corrupt — pull or save it again`);
  }
  const got = hash.digest('hex');
  if (got !== hex) {
    rmSync(tmp, { force: true });
    throw new BuildError(`${where}: uncompressed layer has sha256:${got}, but the image config's rootfs.diff_ids says ${diffId}; the image is corrupt — pull it again or rebuild it`);
  }
  renameSync(tmp, path);
  return path;
}
