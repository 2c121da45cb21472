// The build's "now". Reproducible builds never read the clock: SOURCE_DATE_EPOCH when
// set (https://reproducible-builds.org/specs/source-date-epoch/), else 0.
import { UsageError } from './errors.js';
import type { Time } from './tree/tree.js';

export function buildEpoch(env: NodeJS.ProcessEnv = process.env): Time {
  const v = env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return { sec: 0, nsec: 0 };
  if (!/^\d+$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH=${v} is not a whole number of seconds; unset it or set e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`);
  return { sec: Number(v), nsec: 0 };
}
