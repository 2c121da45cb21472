// The build's "now". Reproducible builds never read the clock: SOURCE_DATE_EPOCH when
// set (https://reproducible-builds.org/specs/source-date-epoch/), else 0. It is the time
// of everything the build adds and of the filesystem itself; set, it also clamps every
// newer time in the tree down to it (the spec's "clamp" practice, which tar's
// --clamp-mtime and mksquashfs follow), so no time in the artifact is later than it.
import { UsageError } from './errors.js';
import type { Node, Time, Tree } from './tree/tree.js';

/** SOURCE_DATE_EPOCH as a time, or undefined when unset; read once, by the entry (build()). */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): Time | undefined {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v))
    throw new UsageError(
      `SOURCE_DATE_EPOCH=${v} is not a whole number of seconds; unset it or set e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`,
    );
  return { sec: Number(v), nsec: 0 };
}

/** The build's "now": SOURCE_DATE_EPOCH (as sourceDateEpoch read it), else 0. */
export function buildEpoch(sourceDate: Time | undefined): Time {
  return sourceDate ?? { sec: 0, nsec: 0 };
}

/** With SOURCE_DATE_EPOCH set (`sourceDate`), every time newer than it becomes it; returns how many. */
export function clampTimes(tree: Tree, epoch: Time | undefined): number {
  if (!epoch) return 0;
  let clamped = 0;
  const seen = new Set<object>();
  for (const node of nodesOf(tree)) {
    if (seen.has(node)) continue;
    seen.add(node);
    if (node.mtime.sec > epoch.sec || (node.mtime.sec === epoch.sec && node.mtime.nsec > 0)) {
      node.mtime = { ...epoch };
      clamped++;
    }
  }
  return clamped;
}

/** The root, then every entry's node, streamed. */
function* nodesOf(tree: Tree): Generator<Node> {
  yield tree.root;
  for (const e of tree.walk()) yield e.node;
}
