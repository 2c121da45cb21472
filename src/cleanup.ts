// Temp files that must not outlive the process (an artifact's `.NAME.PID.partial`, a
// blob or layer being written into the cache, a bundle's staging folder). Each writer registers its temp file while
// it exists; on SIGINT or SIGTERM the CLI removes every one of them and exits 128 + the
// signal's number (130, 143), as a shell reports a process killed by it.
import { rmSync } from 'node:fs';

const live = new Set<string>();

/** `path` is a temp file from now on: removed if the process is interrupted. */
export function trackTemp(path: string): void {
  live.add(path);
}

/** `path` was renamed into place or removed: no longer ours to clean. */
export function untrackTemp(path: string): void {
  live.delete(path);
}

export function removeTempFiles(): void {
  for (const path of live) {
    try {
      rmSync(path, { recursive: true, force: true }); // a bundle's staging folder too
    } catch {
      /* best effort: the process is going away */
    }
  }
  live.clear();
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** On SIGINT/SIGTERM: remove the temp files, say so on stderr, exit 130/143. */
export function exitCleanlyOnSignals(): void {
  for (const [signal, code] of Object.entries(SIGNAL_EXIT)) {
    process.once(signal, () => {
      removeTempFiles();
      process.stderr.write(`fledge-pure: interrupted (${signal}); its temporary files were removed\n`);
      process.exit(code);
    });
  }
}
