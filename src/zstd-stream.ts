// One zstd frame, compressed as a stream in bounded memory: zstd 1.5.4's
// ZSTD_compressStream2 (lib/zstd.h, "Streaming compression - HowTo") built to
// WebAssembly (./zstd-wasm.ts). The input is fed as it comes; zstd keeps its window
// (2 MiB at level 3 for a stream of unknown size) and its tables, nothing more.
// A single frame, because Linux's initramfs unpacker (lib/decompress_unzstd.c) reads one.
import { checkZstd as check, instantiateZstd as instantiate } from './zstd-wasm.js';

/** ZSTD_cParameter and ZSTD_EndDirective values (lib/zstd.h, v1.5.4). */
const C_COMPRESSION_LEVEL = 100;
const C_CHECKSUM_FLAG = 201;
const E_CONTINUE = 0;
const E_END = 2;
/** sizeof(ZSTD_inBuffer) = sizeof(ZSTD_outBuffer) on wasm32: pointer, size, pos. */
const BUFFER_STRUCT = 12;

/** The zstd version of the WebAssembly build (10504 for 1.5.4). */
export function zstdStreamVersion(): number {
  return instantiate().ZSTD_versionNumber();
}

export interface ZstdFrameWriter {
  write(chunk: Uint8Array): void;
  end(): void;
  /** Frees the WebAssembly instance's context (end() does it too). */
  close(): void;
}

/**
 * A writer of one zstd frame (with a content checksum, as the zstd CLI writes) at
 * `level`; compressed bytes go to `out` as they are produced, each chunk a copy.
 */
export function zstdFrameWriter(level: number, out: (chunk: Uint8Array) => void): ZstdFrameWriter {
  const z = instantiate();
  const cctx = z.ZSTD_createCCtx();
  check(z, z.ZSTD_CCtx_setParameter(cctx, C_COMPRESSION_LEVEL, level));
  check(z, z.ZSTD_CCtx_setParameter(cctx, C_CHECKSUM_FLAG, 1));
  const inSize = z.ZSTD_CStreamInSize() >>> 0;
  const outSize = z.ZSTD_CStreamOutSize() >>> 0;
  const inData = z.fp_malloc(inSize);
  const outData = z.fp_malloc(outSize);
  const inStruct = z.fp_malloc(BUFFER_STRUCT);
  const outStruct = z.fp_malloc(BUFFER_STRUCT);
  let closed = false;

  /** Runs ZSTD_compressStream2 over `length` bytes already at inData; returns what zstd still has to flush. */
  function step(length: number, directive: number): number {
    const view = new DataView(z.memory.buffer);
    setBuffer(view, inStruct, inData, length);
    let remaining: number;
    do {
      setBuffer(new DataView(z.memory.buffer), outStruct, outData, outSize);
      remaining = check(z, z.ZSTD_compressStream2(cctx, outStruct, inStruct, directive));
      const produced = new DataView(z.memory.buffer).getUint32(outStruct + 8, true);
      if (produced) out(new Uint8Array(z.memory.buffer, outData, produced).slice());
      // zstd takes all input unless the output buffer filled; loop until it has it all
    } while (
      new DataView(z.memory.buffer).getUint32(inStruct + 8, true) < length ||
      (directive === E_END && remaining)
    );
    return remaining;
  }

  function close(): void {
    if (closed) return;
    closed = true;
    z.ZSTD_freeCCtx(cctx);
    for (const p of [inData, outData, inStruct, outStruct]) z.fp_free(p);
  }

  return {
    write(chunk) {
      for (let at = 0; at < chunk.length; at += inSize) {
        const piece = chunk.subarray(at, at + inSize);
        new Uint8Array(z.memory.buffer, inData, piece.length).set(piece);
        step(piece.length, E_CONTINUE);
      }
    },
    end() {
      step(0, E_END);
      close();
    },
    close,
  };
}

function setBuffer(view: DataView, struct: number, data: number, size: number): void {
  view.setUint32(struct, data, true);
  view.setUint32(struct + 4, size, true);
  view.setUint32(struct + 8, 0, true);
}
