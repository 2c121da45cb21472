// Stream compressors for artifacts. gzip is pako's deflate, in pigz's parallel scheme
// (src/deflate): its bytes are the same on every platform, Node version and number of
// cores (Node's zlib output differs between builds), so artifacts stay reproducible. The
// gzip header carries no name and mtime 0, OS 3 (unix), as pako's.
import { crc32 } from './deflate/crc32.js';
import { gzipHeader, gzipTrailer } from './deflate/format.js';
import { ChainedDeflate, type ParallelOptions } from './deflate/parallel.js';
import { zstdFrameWriter } from './zstd-stream.js';

export interface ByteStream {
  write(chunk: Uint8Array): void;
  end(): void;
  /** Releases what the stream holds (threads) when it is given up before end(). */
  close?(): void;
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

/**
 * One gzip member (RFC 1952) whose deflate data is compressed on worker threads
 * (src/deflate/parallel.ts); the CRC-32 is computed here as the data passes.
 */
export function gzipStream(level: number, out: (chunk: Uint8Array) => void, o: ParallelOptions = {}): ByteStream {
  const deflate = new ChainedDeflate({ level, windowBits: 15, memLevel: 8 }, out, o);
  let crc = 0;
  let size = 0;
  out(gzipHeader(level));
  return {
    write(chunk) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      deflate.write(chunk);
    },
    end() {
      deflate.end();
      out(gzipTrailer(crc, size));
    },
    close: () => deflate.close(),
  };
}

export function plainStream(out: (chunk: Uint8Array) => void): ByteStream {
  return batched((chunk) => {
    if (chunk.length) out(chunk);
  });
}

/**
 * zstd as one frame (src/zstd-stream.ts), compressed as the data comes: memory stays
 * bounded (zstd's window and tables) whatever the size. One frame, because the
 * kernel's initramfs unpacker reads one.
 */
export async function zstdStream(level: number, out: (chunk: Uint8Array) => void): Promise<ByteStream> {
  if (!Number.isInteger(level) || level < 1 || level > 22) throw new Error(`zstd level ${level}: use 1 to 22`);
  const frame = zstdFrameWriter(level, out);
  const stream = batched((chunk, last) => {
    if (chunk.length) frame.write(chunk);
    if (last) frame.end();
  });
  return { ...stream, close: () => frame.close() };
}
