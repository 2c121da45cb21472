// Writes an output file all or nothing: bytes go to a hidden temp file beside the
// target, hashed as they pass; commit() renames it into place, abort() removes it.
// So a failed build leaves no partial artifact, and nothing lands outside the output.
// Filesystem writers write at positions instead (writeAt, then setSize): the file is
// then hashed by reading it back at commit.
// A target that is not a regular file is never replaced: a device or a FIFO (e.g.
// /dev/null) and `-` (stdout) are written directly, streamed; a folder is refused.

/** Where a filesystem writer puts its bytes: positional writes, then the final size. */
export interface ImageSink {
  writeAt(chunk: Uint8Array, position: number): void;
  /** the image's size in bytes; whatever was never written reads as zeros (a hole) */
  setSize(size: number): void;
  /** starts writing back what is written so far (ArtifactFile: an fsync on libuv's thread pool) */
  syncAhead?(): void;
}
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  read,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { trackTemp, untrackTemp } from './cleanup.js';
import { BuildError, UsageError } from './errors.js';

/** NAME_MAX of Linux filesystems (ext4, xfs, btrfs, tmpfs): bytes in one path component. */
const NAME_MAX = 255;
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
/** Bytes a read of commitImage's hash asks for (two buffers of it: one read, one hashed). */
const READ_AHEAD = 2 << 20;
let zeros: Uint8Array | undefined;

/** One line for a failed open/write of the output, from the errno code. */
export function outputError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  const fix: Record<string, () => Error> = {
    ENOENT: () => new UsageError(`output ${path}: folder ${dir} does not exist; create it first`),
    ENOTDIR: () => new UsageError(`output ${path}: ${dir} is not a folder; give a path inside a folder`),
    EISDIR: () =>
      new UsageError(`output ${path}: is a folder; give a file name, e.g. ${join(path, basename(path) || 'out')}.tar`),
    EROFS: () =>
      new UsageError(`output ${path}: ${dir} is on a read-only filesystem; write the output somewhere writable`),
    EACCES: () => new UsageError(`output ${path}: no permission to write in ${dir}; choose a folder you can write to`),
    EPERM: () => new UsageError(`output ${path}: not permitted to write in ${dir}; choose a folder you can write to`),
    ENAMETOOLONG: () => new UsageError(`output ${path}: the path is too long for the filesystem; use a shorter name`),
    ENXIO: () =>
      new UsageError(
        `output ${path}: cannot be opened for writing (a socket, or a FIFO nobody reads); write to a file`,
      ),
    ENOSPC: () =>
      new BuildError(`output ${path}: no space left on the filesystem of ${dir}; free some space or write elsewhere`),
    EDQUOT: () => new BuildError(`output ${path}: disk quota exceeded in ${dir}; free some space or write elsewhere`),
  };
  return (
    fix[code ?? '']?.() ??
    new BuildError(`output ${path}: cannot write (${code ?? (e as Error).message}); check the path and the disk`)
  );
}

function writeAll(fd: number, chunk: Uint8Array, position?: number): void {
  for (let o = 0; o < chunk.length;) {
    try {
      o += writeSync(fd, chunk, o, chunk.length - o, position === undefined ? null : position + o);
    } catch (e) {
      // stdout may be a non-blocking pipe: wait for the reader
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(PAUSE, 0, 0, 5);
    }
  }
}

/** The hidden temp file beside `path`; a shorter name when the target's name is near NAME_MAX. */
function tempPathFor(path: string): string {
  const base = basename(path);
  const short = Buffer.byteLength(base) > 200 ? createHash('sha256').update(base).digest('hex').slice(0, 16) : base;
  return join(dirname(path), `.${short}.${process.pid}.partial`);
}

function existingKind(path: string): 'none' | 'file' | 'folder' | 'special' {
  try {
    const st = statSync(path);
    return st.isDirectory() ? 'folder' : st.isFile() ? 'file' : 'special';
  } catch {
    return 'none';
  }
}

export interface ArtifactOptions {
  /** written at positions (a filesystem image): needs a regular file */
  positional?: boolean;
}

export class ArtifactFile implements ImageSink {
  /** the temp file renamed into place at commit; undefined when written directly (device, FIFO, stdout) */
  readonly tmp: string | undefined;
  private fd: number;
  private hash = createHash('sha256');
  private positional = false;
  private hashedBytes = 0;
  private readBack: Buffer | undefined;
  /** the writer at positions says: from this byte on the file holds zeros only (hashed without reading) */
  zerosFrom = Infinity;
  private syncing: Promise<void> | undefined;
  private syncError: unknown;
  size = 0;

  /** `path` "-" is stdout. */
  constructor(
    readonly path: string,
    o: ArtifactOptions = {},
  ) {
    const kind = path === '-' ? 'special' : existingKind(path);
    if (kind === 'folder') throw outputError({ code: 'EISDIR' }, path);
    if (kind === 'special' && o.positional) {
      throw new UsageError(
        `output ${path}: is not a regular file, and a filesystem image is written at positions and read back; write it to a file`,
      );
    }
    if (path !== '-' && Buffer.byteLength(basename(path)) > NAME_MAX) {
      throw new UsageError(
        `output ${path}: the name is ${Buffer.byteLength(basename(path))} bytes, more than the ${NAME_MAX} a file name can have; use a shorter name`,
      );
    }
    this.tmp = kind === 'special' ? undefined : tempPathFor(path);
    this.fd = this.open(path === '-' ? undefined : (this.tmp ?? path));
  }

  private open(target: string | undefined): number {
    if (target === undefined) return 1;
    try {
      const fd = openSync(target, 'w+', 0o644);
      if (this.tmp) trackTemp(this.tmp);
      return fd;
    } catch (e) {
      throw outputError(e, this.path);
    }
  }

  write(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.guard(() => writeAll(this.fd, chunk));
    this.size += chunk.length;
  }

  /** The open file, for a writer on a worker thread (src/pipeline/fs-worker.ts) to write at positions. */
  get descriptor(): number {
    return this.fd;
  }

  writeAt(chunk: Uint8Array, position: number): void {
    this.positional = true;
    this.guard(() => writeAll(this.fd, chunk, position));
  }

  setSize(size: number): void {
    this.positional = true;
    this.guard(() => ftruncateSync(this.fd, size));
    this.size = size;
  }

  private guard(io: () => void): void {
    try {
      io();
    } catch (e) {
      throw outputError(e, this.path);
    }
  }

  /** how many of the file's first bytes are hashed (positional writing) */
  get hashed(): number {
    return this.hashedBytes;
  }

  /**
   * Reads the file back from where hashing stopped up to `end` and hashes it: for a
   * writer at positions that says its first `end` bytes are final (they are not
   * written again), so the hashing can run while the rest is written.
   */
  hashFinal(end: number): void {
    this.positional = true;
    this.readBack ??= Buffer.allocUnsafe(4 << 20);
    const buf = this.readBack;
    for (let at = this.hashedBytes; at < end;) {
      if (at >= this.zerosFrom) {
        zeros ??= new Uint8Array(buf.length);
        const n = Math.min(zeros.length, end - at);
        this.hash.update(zeros.subarray(0, n));
        at += n;
        continue;
      }
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, end - at, this.zerosFrom - at), at);
      if (n === 0)
        throw new BuildError(`output ${this.path}: its temp file ${this.tmp} is shorter than written; check the disk`);
      this.hash.update(buf.subarray(0, n));
      at += n;
    }
    this.hashedBytes = Math.max(this.hashedBytes, end);
  }

  /**
   * Hashes `chunk`, the bytes just written at `position`, without reading them back
   * (the bytes before them are read back first, as hashFinal does).
   */
  hashWritten(chunk: Uint8Array, position: number): void {
    this.hashFinal(position);
    if (position !== this.hashedBytes)
      throw new Error(`output ${this.path}: bytes at ${position} hashed after byte ${this.hashedBytes}`);
    this.hash.update(chunk);
    this.hashedBytes += chunk.length;
  }

  private hashBack(): void {
    this.hashFinal(this.size);
  }

  /** Moves the file into place (a direct target is just closed); returns its sha256 (hex). */
  commit(): string {
    if (this.positional) this.hashBack();
    if (this.tmp) {
      this.guard(() => fsyncSync(this.fd));
      closeSync(this.fd);
      this.guard(() => renameSync(this.tmp!, this.path));
      untrackTemp(this.tmp);
    } else if (this.fd !== 1) {
      closeSync(this.fd);
    }
    return this.hash.digest('hex');
  }

  /**
   * commit() for an image written at positions, with its two slow steps overlapped: the
   * fsync runs on libuv's thread pool while this thread reads the file back and hashes it
   * (the bytes hashed are the same; only the fsync no longer waits for the hash).
   */
  async commitImage(): Promise<string> {
    if (!this.tmp) return this.commit();
    await this.syncing;
    const synced = this.sync();
    try {
      if (this.positional) await this.hashBackAhead();
    } finally {
      await synced.catch((e: unknown) => {
        throw outputError(e, this.path);
      });
    }
    closeSync(this.fd);
    this.guard(() => renameSync(this.tmp!, this.path));
    untrackTemp(this.tmp);
    return this.hash.digest('hex');
  }

  /**
   * hashBack with the reading on libuv's thread pool, a chunk ahead of the hashing on
   * this thread: the two overlap (reading back 120 MB from tmpfs took this thread about
   * as long as hashing them).
   */
  private async hashBackAhead(): Promise<void> {
    const stop = Math.min(this.size, this.zerosFrom);
    const buffers = [Buffer.allocUnsafe(READ_AHEAD), Buffer.allocUnsafe(READ_AHEAD)];
    const readAt = (k: number, at: number) =>
      at < stop
        ? new Promise<number>((resolve, reject) =>
            read(this.fd, buffers[k]!, 0, Math.min(READ_AHEAD, stop - at), at, (e, n) => (e ? reject(e) : resolve(n))),
          )
        : undefined;
    let next = readAt(0, this.hashedBytes);
    for (let k = 0; next; k ^= 1) {
      const n = await next;
      if (n === 0)
        throw new BuildError(`output ${this.path}: its temp file ${this.tmp} is shorter than written; check the disk`);
      next = readAt(k ^ 1, this.hashedBytes + n);
      this.hash.update(buffers[k]!.subarray(0, n));
      this.hashedBytes += n;
    }
    this.hashBack(); // the zeros from zerosFrom on, read from no file
  }

  /**
   * Starts an fsync of what is written so far on libuv's thread pool, unless one is
   * under way, so that commit's own fsync finds less to write. Its error, if any, is
   * commit's (an fsync error is reported once).
   */
  syncAhead(): void {
    if (this.syncing || !this.tmp) return;
    this.syncing = this.sync().then(
      () => (this.syncing = undefined),
      (e: unknown) => {
        this.syncing = undefined;
        this.syncError ??= e;
      },
    );
  }

  private sync(): Promise<void> {
    return new Promise<void>((resolve, reject) =>
      fsync(this.fd, (e) => ((e ?? this.syncError) ? reject(e ?? this.syncError) : resolve())),
    );
  }

  abort(): void {
    try {
      if (this.fd !== 1) closeSync(this.fd);
    } catch {
      /* already closed */
    }
    if (!this.tmp) return;
    rmSync(this.tmp, { force: true });
    untrackTemp(this.tmp);
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
