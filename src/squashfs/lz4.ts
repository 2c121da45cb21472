// LZ4 block compression, for squashfs's lz4 compressor (id 5). Squashfs stores each
// block as one raw LZ4 block, no frame: squashfs-tools' lz4_wrapper.c compresses with
// LZ4_compress_default and reads with LZ4_decompress_safe, as the kernel does.
//
// The encoder is liblz4 1.9.4 itself (Debian 12's source) compiled to WebAssembly by
// wasm/lz4/build.sh, one instance per thread: LZ4_compress_default's bytes as liblz4 writes
// them on a 64-bit host (wasm/lz4/glue.c says how), so each block is the one mksquashfs
// and tar2sqfs write on x86-64 (test/lz4.test.ts compares with Debian's lz4 CLI). The
// same bytes on every platform and Node version, as WebAssembly runs the same everywhere.
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  fp_input(): number;
  fp_output(): number;
  fp_max_input(): number;
  fp_compress(size: number): number;
}

const WASM = new URL('../../wasm/lz4/lz4.wasm', import.meta.url);
let instance: Exports | undefined;

function lz4(): Exports {
  if (instance) return instance;
  const module = new WebAssembly.Module(readFileSync(WASM));
  return (instance = new WebAssembly.Instance(module).exports as unknown as Exports);
}

/**
 * One LZ4 block holding `src` (at most 1 MiB, squashfs's largest block; it may be empty:
 * one zero token). `view`: the result is a view into the WebAssembly memory, valid until
 * the next call (no copy made).
 */
export function lz4CompressBlock(src: Uint8Array, view = false): Uint8Array {
  const m = lz4();
  if (src.length > m.fp_max_input())
    throw new Error(
      `lz4: a block of ${src.length} bytes is over ${m.fp_max_input()} (squashfs blocks are at most 1 MiB)`,
    );
  const input = m.fp_input();
  new Uint8Array(m.memory.buffer, input, src.length).set(src);
  const n = m.fp_compress(src.length);
  if (n <= 0) throw new Error(`lz4: liblz4 failed on a block of ${src.length} bytes`);
  const output = m.fp_output();
  return view ? new Uint8Array(m.memory.buffer, output, n) : new Uint8Array(m.memory.buffer.slice(output, output + n));
}
