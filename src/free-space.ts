// The cache's disk must keep some room free: what is written into it (blobs, layers) is
// checked against that before it starts and every 64 MiB as it grows.
import { statfsSync } from 'node:fs';
import { BuildError } from './errors.js';
import { formatBytes } from './limits.js';

/** how often, in bytes written, the free space is looked at again */
export const FREE_CHECK_EVERY = 64 << 20;

/** Throws one line when the filesystem of `dir` has less than `min` bytes free for us. */
export function checkFreeSpace(dir: string, min: number, where: string): void {
  if (min <= 0) return;
  const st = statfsSync(dir);
  const free = st.bavail * st.bsize;
  if (free < min) {
    throw new BuildError(
      `${where}: only ${formatBytes(free)} free in the cache ${dir}, less than the ${formatBytes(min)} ` +
        `kept free; free some space, or point XDG_CACHE_HOME at a larger disk`,
    );
  }
}
