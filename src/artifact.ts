// Writes an output file all or nothing: bytes go to a hidden temp file beside the
// target, hashed as they pass; commit() renames it into place, abort() removes it.
// So a failed build leaves no partial artifact, and nothing lands outside the output.
// Filesystem writers write at positions instead (writeAt, then setSize): the file is
// then hashed by reading it back at commit.

/** Where a filesystem writer puts its bytes: positional writes, then the final size. */
export interface ImageSink {
  writeAt(chunk: Uint8Array, position: number): void;
  /** the image's size in bytes; whatever was never written reads as zeros (a hole) */
  setSize(size: number): void;
}
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class ArtifactFile implements ImageSink {
  readonly tmp: string;
  private fd: number;
  private hash = createHash('sha256');
  private positional = false;
  size = 0;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    this.fd = openSync(this.tmp, 'w+', 0o644);
  }

  write(chunk: Uint8Array): void {
    this.hash.update(chunk);
    for (let o = 0; o < chunk.length; ) o += writeSync(this.fd, chunk, o, chunk.length - o);
    this.size += chunk.length;
  }

  writeAt(chunk: Uint8Array, position: number): void {
    this.positional = true;
    for (let o = 0; o < chunk.length; ) o += writeSync(this.fd, chunk, o, chunk.length - o, position + o);
  }

  setSize(size: number): void {
    this.positional = true;
    ftruncateSync(this.fd, size);
    this.size = size;
  }

  private hashBack(): void {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (let at = 0; at < this.size; ) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, this.size - at), at);
      if (n === 0) throw new Error(`${this.tmp}: shorter than written`);
      this.hash.update(buf.subarray(0, n));
      at += n;
    }
  }

  /** Moves the file into place; returns its sha256 (hex). */
  commit(): string {
    if (this.positional) this.hashBack();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
    return this.hash.digest('hex');
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
    rmSync(this.tmp, { force: true });
  }
}

/** Writes a whole small file (a manifest) the same all-or-nothing way. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const f = new ArtifactFile(path);
  try {
    f.write(typeof data === 'string' ? Buffer.from(data) : data);
    f.commit();
  } catch (e) {
    f.abort();
    throw e;
  }
}
