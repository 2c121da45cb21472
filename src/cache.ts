// The one cache module: every path under the cache folder, and the one way a file enters
// it — written to a temp file beside its final name (removed on a signal), then verified,
// then renamed into place; a file under its final name is trusted. The folder is given
// by the entry (build(), the CLI's export/inspect, openImage) as `cacheDir`; only
// defaultCacheDir reads the environment, and only those entries call it.
//
//   blobs/sha256/<hex>    verified blobs: registry pulls, foreign layers, downloads (busybox, agent, ADD)
//   blobs/sha512/<hex>    blobs named by sha512 digests (the OCI spec's other registered algorithm)
//   layers/sha256/<hex>   uncompressed layer tars by diff_id (src/oci/layer/uncompress.ts)
//   daemon/<sha256>.tar   archives saved from a Docker daemon
//   add/<hash>            ADD archives decompressed (src/dockerfile/archive.ts)
//   run/                  RUN step layers (src/dockerfile/run.ts)
//   run/mounts/<hex>.img  RUN --mount=type=cache disks, by the sha256 of the id (src/dockerfile/cache-mounts.ts),
//                         and <hex>.img.lock while a build uses one (src/dockerfile/cache-lock.ts)
//   vm/                   the build VM's uncompressed kernel (src/vm/kernel.ts)
//   compressed/<2>/<hex>  compressed blocks, chunks and clusters by content (src/compressed-cache.ts)
//
// A blob is hashed with its digest's algorithm as it is written (a resumed download goes on
// with the same hash) and enters the cache only once it has been read to its end with the
// expected size and digest.
import { randomBytes, type Hash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { trackTemp, untrackTemp } from './cleanup.js';
import { NetworkError } from './errors.js';
import { checkFreeSpace, FREE_CHECK_EVERY } from './free-space.js';
import { hasherFor, splitDigest } from './oci/digest.js';

/** $XDG_CACHE_HOME/fledge-pure, default ~/.cache/fledge-pure: read by the entries only. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fledge-pure');
}

/** Every folder of the cache. */
export const cachePaths = {
  blobs: (root: string, algorithm = 'sha256') => join(root, 'blobs', algorithm),
  layers: (root: string) => join(root, 'layers', 'sha256'),
  daemon: (root: string) => join(root, 'daemon'),
  add: (root: string) => join(root, 'add'),
  run: (root: string) => join(root, 'run'),
  vm: (root: string) => join(root, 'vm'),
  compressed: (root: string) => join(root, 'compressed'),
};

/**
 * A file on its way into the cache: a temp name beside `path` (its folder made), which
 * commit() renames into place once `verify` (which throws when the bytes are wrong) has
 * passed; the temp file is removed either way, and by drop().
 */
export class CacheTemp {
  readonly tmp: string;
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
    trackTemp(this.tmp);
  }

  /** Verify, then rename to `as` (default the path given); returns where it went. */
  commit(verify: () => void = () => {}, as = this.path): string {
    try {
      verify();
      renameSync(this.tmp, as);
      return as;
    } finally {
      this.drop();
    }
  }

  drop(): void {
    rmSync(this.tmp, { force: true });
    untrackTemp(this.tmp);
  }
}

export function blobDir(root = defaultCacheDir(), algorithm = 'sha256'): string {
  return cachePaths.blobs(root, algorithm);
}

/** Where the blob with this digest (sha256 or sha512) lives (or would live) in the cache. */
export function blobPath(digest: string, root: string): string {
  const { algorithm, hex } = splitDigest(digest, 'blob cache');
  return join(cachePaths.blobs(root, algorithm), hex);
}

/** The cached file of a blob, if it is there with the expected size. */
export function cachedBlob(digest: string, size: number | undefined, root: string): string | undefined {
  const path = blobPath(digest, root);
  if (!existsSync(path)) return undefined;
  if (size !== undefined && statSync(path).size !== size) return undefined;
  return path;
}

/** A blob being written: append bytes, then commit (verify + rename) or abort. */
export class BlobWriter {
  written = 0;
  private nextFreeCheck = 0;
  private hash: Hash;
  private constructor(
    readonly digest: string,
    readonly size: number,
    readonly where: string,
    private readonly temp: CacheTemp,
    private fh: FileHandle | undefined,
    private readonly minFreeBytes: number,
  ) {
    this.hash = hasherFor(digest, where);
  }

  /**
   * Into the blob cache under `root`; `where` names the blob's origin in error messages (registry/repository);
   * `minFreeBytes` stay free on the cache's disk.
   */
  static async open(digest: string, size: number, where: string, root: string, minFreeBytes = 0): Promise<BlobWriter> {
    const temp = new CacheTemp(blobPath(digest, root));
    return new BlobWriter(digest, size, where, temp, await open(temp.tmp, 'w'), minFreeBytes);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.fh) throw new Error('BlobWriter: write after close');
    if (this.written + chunk.length > this.size) {
      throw new NetworkError(
        `${this.where}: blob ${this.digest} is larger than the ${this.size} bytes its descriptor says; ` +
          `the registry serves a different blob, report it to the registry's operator`,
      );
    }
    if (this.written >= this.nextFreeCheck) {
      checkFreeSpace(dirname(this.temp.path), this.minFreeBytes, `${this.where}: blob ${this.digest}`);
      this.nextFreeCheck = this.written + FREE_CHECK_EVERY;
    }
    this.hash.update(chunk);
    let off = 0;
    while (off < chunk.length) off += (await this.fh.write(chunk, off, chunk.length - off)).bytesWritten;
    this.written += chunk.length;
  }

  /** Start over from byte 0 (a server that ignored a Range request). */
  async restart(): Promise<void> {
    if (!this.fh) throw new Error('BlobWriter: restart after close');
    await this.fh.truncate(0);
    this.hash = hasherFor(this.digest, this.where);
    this.written = 0;
    this.nextFreeCheck = 0;
  }

  /** Verify size and digest, then move the blob to its place in the cache; returns that path. */
  async commit(): Promise<string> {
    await this.close();
    return this.temp.commit(() => {
      if (this.written !== this.size) {
        throw new NetworkError(
          `${this.where}: blob ${this.digest} ended after ${this.written} of ${this.size} bytes; try again (the connection was cut)`,
        );
      }
      const got = `${splitDigest(this.digest, this.where).algorithm}:${this.hash.digest('hex')}`;
      if (got !== this.digest) {
        throw new NetworkError(
          `${this.where}: blob ${this.digest} arrived with digest ${got}; the bytes were altered in ` +
            `transit or the registry is corrupt — try again, or check any proxy in between`,
        );
      }
    });
  }

  /** Drop the temp file (harmless after commit). */
  async abort(): Promise<void> {
    await this.close();
    this.temp.drop();
  }

  private async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }
}
