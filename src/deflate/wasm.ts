// zlib's deflate compiled to WebAssembly (wasm/zlib: build.sh, glue.c), one instance per
// thread. WebAssembly executes the same on every CPU, so the bytes are the same on every
// platform and Node version; Node's bundled zlib is not used (Chromium's fork, whose
// output depends on the CPU's features). Every job starts from a fresh zlib state.
// With `pako` strings are hashed as pako 3 does by default (wasm/zlib/pako-hash.patch) and
// deflate is called as pako's Deflate.push calls it: the output is pako's, byte for byte;
// without it, zlib's own.
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  __heap_base: WebAssembly.Global;
  deflate_state_size(windowBits: number, memLevel: number): number;
  deflate_job(
    input: number,
    inputLength: number,
    dictionary: number,
    dictionaryLength: number,
    output: number,
    outputCapacity: number,
    level: number,
    windowBits: number,
    memLevel: number,
    flush: number,
    pako: number,
    state: number,
    stateEnd: number,
  ): number;
}

/** zlib.h's flush values */
export const Z_SYNC_FLUSH = 2;
export const Z_FINISH = 4;

/** output room a pako job needs beyond its output (glue.c, PAKO_CHUNK) */
export const PAKO_SLACK = 16384;

const WASM = new URL('../../wasm/zlib/zlib.wasm', import.meta.url);
const PAGE = 65536;
let instance: Exports | undefined;

function zlib(): Exports {
  if (instance) return instance;
  const module = new WebAssembly.Module(readFileSync(WASM));
  return (instance = new WebAssembly.Instance(module).exports as unknown as Exports);
}

export interface ZlibJob {
  level: number;
  /** the window, 8–15 (zlib's windowBits for a raw stream, without the sign) */
  windowBits: number;
  memLevel: number;
  /** Z_SYNC_FLUSH (a piece of a longer stream) or Z_FINISH (the stream's end) */
  flush: number;
  dictionary?: Uint8Array;
  /** the most output bytes wanted */
  outputCapacity: number;
  /** pako 3's bytes (its string hash, its output pieces: outputCapacity needs PAKO_SLACK to spare) instead of zlib's */
  pako: boolean;
}

const align = (n: number) => (n + 15) & ~15;

/**
 * `data` as raw deflate (one zlib deflateInit2 / deflateSetDictionary / deflate call),
 * a copy; null when the output does not fit in `outputCapacity` bytes.
 */
export function zlibDeflate(data: Uint8Array, j: ZlibJob): Uint8Array | null {
  const z = zlib();
  const dictionary = j.dictionary ?? new Uint8Array(0);
  const input = align(z.__heap_base.value as number);
  const dict = align(input + data.length);
  const output = align(dict + dictionary.length);
  const state = align(output + j.outputCapacity);
  const stateEnd = state + z.deflate_state_size(j.windowBits, j.memLevel);
  if (stateEnd > z.memory.buffer.byteLength) z.memory.grow(Math.ceil((stateEnd - z.memory.buffer.byteLength) / PAGE));
  const memory = new Uint8Array(z.memory.buffer);
  memory.set(data, input);
  memory.set(dictionary, dict);
  const n = z.deflate_job(
    input,
    data.length,
    dict,
    dictionary.length,
    output,
    j.outputCapacity,
    j.level,
    j.windowBits,
    j.memLevel,
    j.flush,
    j.pako ? 1 : 0,
    state,
    stateEnd,
  );
  if (n === -1) return null;
  if (n < 0)
    throw new Error(
      `deflate: zlib error ${n + 100} (level ${j.level}, windowBits ${j.windowBits}, memLevel ${j.memLevel})`,
    );
  return memory.slice(output, output + n);
}
