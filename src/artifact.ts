// Writes an output file all or nothing: bytes go to a hidden temp file beside the
// target, hashed as they pass; commit() renames it into place, abort() removes it.
// So a failed build leaves no partial artifact, and nothing lands outside the output.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export class ArtifactFile {
  readonly tmp: string;
  private fd: number;
  private hash = createHash('sha256');
  size = 0;

  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    this.fd = openSync(this.tmp, 'w', 0o644);
  }

  write(chunk: Uint8Array): void {
    this.hash.update(chunk);
    for (let o = 0; o < chunk.length; ) o += writeSync(this.fd, chunk, o, chunk.length - o);
    this.size += chunk.length;
  }

  /** Moves the file into place; returns its sha256 (hex). */
  commit(): string {
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
