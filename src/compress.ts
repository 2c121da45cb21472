// Stream compressors for artifacts. gzip is pako's: its bytes are the same on every
// platform and Node version (Node's zlib output differs between builds), so artifacts
// stay reproducible. pako's gzip header carries no name and mtime 0, OS 3 (unix).
import { Deflate } from 'pako';

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

type ZstdModule = { Streaming: new () => { compressChunks(chunks: Uint8Array[], size: number, level: number): Uint8Array } };
let zstdModule: Promise<ZstdModule> | undefined;

/**
 * zstd through zstd-codec (WebAssembly: the same bytes everywhere). It compresses a
 * whole input in one call, so the stream keeps the input until end(); fine for an
 * initramfs, which the kernel holds in memory anyway. Levels above 9 abort inside
 * zstd-codec (out of WebAssembly memory), so 1–9 only.
 */
export async function zstdStream(level: number, out: (chunk: Uint8Array) => void): Promise<ByteStream> {
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error(`zstd level ${level}: use 1 to 9`);
  const zstd = await (zstdModule ??= import('zstd-codec').then((m) => new Promise<ZstdModule>((resolve) => m.default.ZstdCodec.run(resolve))));
  const chunks: Uint8Array[] = [];
  let size = 0;
  return batched((chunk, last) => {
    if (chunk.length) chunks.push(Uint8Array.from(chunk));
    size += chunk.length;
    if (last) out(new zstd.Streaming().compressChunks(chunks, size, level));
  });
}
