// zstd through @foxglove/wasm-zstd: zstd compiled to WebAssembly, so the same bytes on
// every machine and Node version (the version is pinned exactly in package.json: zstd's
// output may change between zstd releases). One call is one ZSTD_compress() frame.
// zstd-codec, the package the design named, aborts (out of WebAssembly memory) from
// level 12 on 1 MiB inputs: test/zstd-codec.test.ts shows it.
import { createRequire } from 'node:module';

export interface Zstd {
  compress(buf: Uint8Array, level: number): Uint8Array;
}

let loaded: Promise<Zstd> | undefined;

export function loadZstd(): Promise<Zstd> {
  return (loaded ??= (async () => {
    // a CommonJS package: its named exports come through require()
    const m = createRequire(import.meta.url)('@foxglove/wasm-zstd') as Zstd & { isLoaded: Promise<boolean> };
    await m.isLoaded;
    return m;
  })());
}
