// Letting a tree's memory go while the ext4, xfs or btrfs writer's thread writes from its
// own copy of it (src/pipeline/fs-worker.ts): the main thread waits idle meanwhile, and an
// idle V8 heap is not collected, so the emptied tree would stay in memory to the end of
// the write — two copies of every entry at the peak. A full collection right away gives
// its pages back (the scale case: the main thread's heap 128 → 46 MiB).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Tree } from './tree.js';

/** Empties the tree (its root keeps its attributes, no entries) and collects its nodes now. */
export function releaseTree(tree: Tree): void {
  for (const key of [...tree.root.entries.keys()]) tree.remove(tree.root, key);
  collectGarbage();
}

let gc: (() => void) | undefined;

/** A full garbage collection: V8's `gc`, taken from a fresh context with --expose-gc set
 *  only while it is made (jest's leak detector does the same), or the global one that
 *  `node --expose-gc` gives. */
function collectGarbage(): void {
  if (!gc) {
    const global = (globalThis as { gc?: () => void }).gc;
    if (global) gc = global;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
      setFlagsFromString('--no-expose-gc');
    }
  }
  gc();
}
