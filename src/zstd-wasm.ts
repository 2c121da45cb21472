// zstd 1.5.4's compressor built to WebAssembly by wasm/zstd/build.sh (the .wasm beside it
// is that script's output; the flags and the source's sha256 are pinned there).
// WebAssembly gives the same bytes on every machine and Node version. Two users: squashfs
// blocks (./zstd.ts, ZSTD_compressCCtx) and the initramfs's single frame
// (./zstd-stream.ts, ZSTD_compressStream2).
import { readFileSync } from 'node:fs';

/** The exports of wasm/zstd/zstd.wasm (lib/zstd.h, v1.5.4, and glue.c's allocator). */
export interface ZstdExports {
  memory: WebAssembly.Memory;
  fp_malloc(size: number): number;
  fp_free(ptr: number): void;
  ZSTD_createCCtx(): number;
  ZSTD_freeCCtx(cctx: number): number;
  ZSTD_CCtx_setParameter(cctx: number, param: number, value: number): number;
  ZSTD_compressStream2(cctx: number, out: number, inp: number, end: number): number;
  ZSTD_compressCCtx(
    cctx: number,
    dst: number,
    dstCapacity: number,
    src: number,
    srcSize: number,
    level: number,
  ): number;
  ZSTD_compressBound(srcSize: number): number;
  ZSTD_CStreamInSize(): number;
  ZSTD_CStreamOutSize(): number;
  ZSTD_isError(code: number): number;
  ZSTD_getErrorName(code: number): number;
  ZSTD_versionNumber(): number;
}

/** The module file: its bytes are part of what makes a compressed block (see squashfs/pool.ts). */
export const ZSTD_WASM = new URL('../wasm/zstd/zstd.wasm', import.meta.url);

let module: WebAssembly.Module | undefined;

/** A fresh instance: its own memory, so one per compressor. */
export function instantiateZstd(): ZstdExports {
  module ??= new WebAssembly.Module(readFileSync(ZSTD_WASM));
  return new WebAssembly.Instance(module, {}).exports as unknown as ZstdExports;
}

/** A size_t result, or a thrown error with zstd's name for it. */
export function checkZstd(z: ZstdExports, code: number): number {
  if (!z.ZSTD_isError(code)) return code >>> 0;
  const mem = new Uint8Array(z.memory.buffer);
  const at = z.ZSTD_getErrorName(code);
  const name = Buffer.from(mem.subarray(at, mem.indexOf(0, at))).toString('latin1');
  throw new Error(`zstd: ${name}`);
}
