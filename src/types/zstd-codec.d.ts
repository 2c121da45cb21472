// zstd-codec ships no types: the part we call.
declare module 'zstd-codec' {
  const codec: { ZstdCodec: { run(callback: (zstd: never) => void): void } };
  export default codec;
}
