// Global setup: tests write nothing outside the run's TMPDIR (test/helpers/scratch.ts).
// Before the run it notes what is in the places a test (or a tool it starts: npx, skopeo,
// buildah, fledge-pure's cache) would write by mistake; after the run it names every
// file or folder that is new or changed there. With CI set that fails the run; on a
// shared machine (CI unset) other processes write there too, so it is one warning line.
import { lstatSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Walked whole: every file and folder under them. */
const TREES = [
  join(homedir(), '.cache'),
  join(homedir(), '.npm'),
  join(homedir(), '.local/share/containers'),
  '/var/lib/containers',
];
/** Only their entries. */
const FLAT = ['/tmp', '/var/tmp'];
/** npm's log of the `npm test` command itself: written by the npm process that runs vitest. */
const IGNORED = [join(homedir(), '.npm/_logs')];

type Snapshot = Map<string, string>;

function stamp(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return st.isDirectory() ? 'dir' : `${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function walk(dir: string, into: Snapshot, deep: boolean): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (IGNORED.includes(path)) continue;
    const s = stamp(path);
    if (s === undefined) continue;
    into.set(path, s);
    if (deep && s === 'dir') walk(path, into, true);
  }
}

export function snapshot(): Snapshot {
  const s: Snapshot = new Map();
  for (const d of TREES) walk(d, s, true);
  for (const d of FLAT) walk(d, s, false);
  return s;
}

/** The paths new or changed in `after`, not counting `own` (the run's TMPDIR) or what is below it. */
export function writtenOutside(before: Snapshot, after: Snapshot, own: string): string[] {
  const out: string[] = [];
  for (const [path, s] of after) {
    if (path === own || path.startsWith(own + '/')) continue;
    const was = before.get(path);
    if (was === undefined || (s !== 'dir' && was !== s)) out.push(path);
  }
  return out.sort();
}

export default function setup(): () => void {
  const own = process.env.TMPDIR!;
  const before = snapshot();
  return () => {
    const written = writtenOutside(before, snapshot(), own);
    if (written.length === 0) return;
    const shown = written.slice(0, 20).join(', ') + (written.length > 20 ? `, … (${written.length} in all)` : '');
    const line = `written outside the run's TMPDIR during the tests: ${shown}`;
    if (!process.env.CI) {
      console.warn(`warning: ${line} (CI unset: another process on this machine may have written them)`);
      return;
    }
    process.exitCode = 1;
    throw new Error(line);
  };
}
