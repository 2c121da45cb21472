// Tree → newc cpio → gzip (or zstd) → artifact file, all streamed.
import { ArtifactFile } from '../artifact.js';
import { type ByteStream, gzipStream, zstdStream } from '../compress.js';
import { drain } from '../chunks.js';
import type { CompressedCache } from '../compressed-cache.js';
import { newcChunks } from '../cpio/newc.js';
import type { Tree } from '../tree/tree.js';

export type InitramfsCompression = 'gzip' | 'zstd';

/** The file suffix and manifest format of each compression. */
export const INITRAMFS_FORMAT: Record<InitramfsCompression, string> = { gzip: 'cpio.gz', zstd: 'cpio.zst' };

export interface WrittenArtifact {
  path: string;
  sha256: string;
  size: number;
  droppedXattrs: number;
}

export async function writeInitramfs(
  tree: Tree,
  path: string,
  compression: InitramfsCompression = 'gzip',
  cache?: CompressedCache,
): Promise<WrittenArtifact> {
  const file = new ArtifactFile(path);
  let stream: ByteStream | undefined;
  try {
    const write = (chunk: Uint8Array) => file.write(chunk);
    // gzip 6 as `gzip` does by default; zstd 3 as `zstd` does
    stream = compression === 'zstd' ? await zstdStream(3, write) : gzipStream(6, write, { cache });
    const { droppedXattrs } = await drain(newcChunks(tree), (chunk) => stream!.write(chunk));
    stream.end();
    const size = file.size;
    return { path, sha256: file.commit(), size, droppedXattrs };
  } catch (e) {
    file.abort();
    throw e;
  } finally {
    stream?.close?.();
  }
}
