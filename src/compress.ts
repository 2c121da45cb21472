// Stream compressors for artifacts. gzip is pako's: its bytes are the same on every
// platform and Node version (Node's zlib output differs between builds), so artifacts
// stay reproducible. pako's gzip header carries no name and mtime 0, OS 3 (unix).
import { Deflate } from 'pako';
import { loadZstd } from './zstd.js';

export interface ByteStream {
  write(chunk: Uint8Array): void;
  end(): void;
}

const BATCH = 1 << 20;

/** Collects small writes into 1 MiB batches before they reach `next`. */
export function batched(next: (chunk: Uint8Array, last: boolean) => void): ByteStream {
  const buf = Buffer.allocUnsafe(BATCH);
  let used = 0;
  return {
    write(chunk) {
      if (used + chunk.length > BATCH && used) {
        next(buf.subarray(0, used), false);
        used = 0;
      }
      if (chunk.length >= BATCH) next(chunk, false);
      else {
        buf.set(chunk, used);
        used += chunk.length;
      }
    },
    end() {
      next(buf.subarray(0, used), true);
      used = 0;
    },
  };
}

export function gzipStream(level: number, out: (chunk: Uint8Array) => void): ByteStream {
  const deflate = new Deflate({ gzip: true, level: level as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 });
  deflate.onData = (chunk: Uint8Array) => out(chunk);
  return batched((chunk, last) => {
    deflate.push(chunk, last);
    if (deflate.err) throw new Error(`gzip: ${deflate.msg}`);
  });
}

export function plainStream(out: (chunk: Uint8Array) => void): ByteStream {
  return batched((chunk) => {
    if (chunk.length) out(chunk);
  });
}

/**
 * zstd (src/zstd.ts) as one frame: the stream keeps its input until end(), then
 * compresses it in one call; fine for an initramfs, which the kernel holds in memory
 * anyway (and whose zstd decompressor reads one frame).
 */
export async function zstdStream(level: number, out: (chunk: Uint8Array) => void): Promise<ByteStream> {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new Error(`zstd level ${level}: use 1 to 22`);
  const zstd = await loadZstd();
  const chunks: Buffer[] = [];
  return batched((chunk, last) => {
    if (chunk.length) chunks.push(Buffer.from(chunk));
    if (last) out(zstd.compress(Buffer.concat(chunks), level));
  });
}
