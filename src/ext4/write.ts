import type { ImageSink } from '../artifact.js';
import type { Time, Tree } from '../tree/tree.js';

export interface Ext4Options {
  /** free space added on top of what the tree needs, in MiB; 0 = as small as possible */
  sizeBufferMb: number;
  /** write every block (true) or leave unwritten blocks as holes (false) */
  preallocate: boolean;
  /** the filesystem's creation time (SOURCE_DATE_EPOCH, else 0) */
  epoch: Time;
}

export function writeExt4(_tree: Tree, _out: ImageSink, _o: Ext4Options): void {
  throw new Error('the ext4 writer is not written yet');
}
