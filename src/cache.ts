// The content-addressed blob cache: cacheDir()/blobs/sha256/<hex>. A blob is written to a
// temp file beside its final name, hashed as it is written (a resumed download goes on
// with the same hash), and enters the cache by rename only once it has been read to its
// end with the expected size and sha256. A file under its final name is trusted.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { trackTemp, untrackTemp } from './cleanup.js';
import { cacheDir } from './download.js';
import { ImageError, NetworkError } from './errors.js';
import { checkFreeSpace, FREE_CHECK_EVERY } from './free-space.js';

function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new ImageError(`blob digest "${digest}" is not sha256:<64 hex>; only sha256 digests are supported`);
  return m[1];
}

export function blobDir(): string {
  return join(cacheDir(), 'blobs', 'sha256');
}

/** Where the blob with this digest lives (or would live) in the cache. */
export function blobPath(digest: string): string {
  return join(blobDir(), hexOf(digest));
}

/** The cached file of a blob, if it is there with the expected size. */
export function cachedBlob(digest: string, size?: number): string | undefined {
  const path = blobPath(digest);
  if (!existsSync(path)) return undefined;
  if (size !== undefined && statSync(path).size !== size) return undefined;
  return path;
}

/** A blob being written: append bytes, then commit (verify + rename) or abort. */
export class BlobWriter {
  written = 0;
  private nextFreeCheck = 0;
  private hash: Hash = createHash('sha256');
  private constructor(
    readonly digest: string,
    readonly size: number,
    readonly where: string,
    private readonly tmp: string,
    private fh: FileHandle | undefined,
    private readonly minFreeBytes: number,
  ) {}

  /** `where` names the blob's origin in error messages (registry/repository); `minFreeBytes` stay free on the cache's disk. */
  static async open(digest: string, size: number, where: string, minFreeBytes = 0): Promise<BlobWriter> {
    const path = blobPath(digest);
    mkdirSync(blobDir(), { recursive: true });
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
    trackTemp(tmp);
    return new BlobWriter(digest, size, where, tmp, await open(tmp, 'w'), minFreeBytes);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.fh) throw new Error('BlobWriter: write after close');
    if (this.written + chunk.length > this.size) {
      throw new NetworkError(`${this.where}: blob ${this.digest} is larger than the ${this.size} bytes its descriptor says; the registry serves a different blob, report it to the registry's operator`);
    }
    if (this.written >= this.nextFreeCheck) {
      checkFreeSpace(blobDir(), this.minFreeBytes, `${this.where}: blob ${this.digest}`);
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
    this.hash = createHash('sha256');
    this.written = 0;
    this.nextFreeCheck = 0;
  }

  /** Verify size and sha256, then move the blob to its place in the cache; returns that path. */
  async commit(): Promise<string> {
    await this.close();
    try {
      if (this.written !== this.size) {
        throw new NetworkError(`${this.where}: blob ${this.digest} ended after ${this.written} of ${this.size} bytes; try again (the connection was cut)`);
      }
      const got = `sha256:${this.hash.digest('hex')}`;
      if (got !== this.digest) {
        throw new NetworkError(`${this.where}: blob ${this.digest} arrived with digest ${got}; the bytes were altered in transit or the registry is corrupt — try again, or check any proxy in between`);
      }
      const path = blobPath(this.digest);
      await rename(this.tmp, path);
      return path;
    } finally {
      await rm(this.tmp, { force: true });
      untrackTemp(this.tmp);
    }
  }

  /** Drop the temp file (harmless after commit). */
  async abort(): Promise<void> {
    await this.close();
    await rm(this.tmp, { force: true });
    untrackTemp(this.tmp);
  }

  private async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }
}
