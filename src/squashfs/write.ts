import type { ImageSink } from '../artifact.js';
import type { Time, Tree } from '../tree/tree.js';

export interface SquashfsOptions {
  /** zstd level 1–22 (default 15) */
  level: number;
  /** the filesystem's creation time (SOURCE_DATE_EPOCH, else 0) */
  epoch: Time;
}

export async function writeSquashfs(_tree: Tree, _out: ImageSink, _o: SquashfsOptions): Promise<void> {
  throw new Error('the squashfs writer is not written yet');
}
