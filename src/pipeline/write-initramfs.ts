// Tree → newc cpio → gzip → artifact file, all streamed.
import { ArtifactFile } from '../artifact.js';
import { gzipStream } from '../compress.js';
import { writeNewc } from '../cpio/newc.js';
import type { Tree } from '../tree/tree.js';

export interface WrittenArtifact {
  path: string;
  sha256: string;
  size: number;
  droppedXattrs: number;
}

export function writeInitramfs(tree: Tree, path: string): WrittenArtifact {
  const file = new ArtifactFile(path);
  try {
    const gz = gzipStream(6, (chunk) => file.write(chunk));
    const { droppedXattrs } = writeNewc(tree, (chunk) => gz.write(chunk));
    gz.end();
    const size = file.size;
    return { path, sha256: file.commit(), size, droppedXattrs };
  } catch (e) {
    file.abort();
    throw e;
  }
}
