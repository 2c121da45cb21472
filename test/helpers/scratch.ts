// Every temporary file of a test run — the tests' own, and those of the programs they
// start (the CLI, QEMU, skopeo, docker-registry), and vitest's own module copies — goes
// under one folder, TMPDIR for the run, removed when the run ends: a run leaves nothing
// behind in /tmp. fledge-pure's cache (XDG_CACHE_HOME), npm's (the npx runs under other
// Node versions) and XDG_DATA_HOME default to folders inside it too, so no test writes
// to ~/.cache, ~/.npm or ~/.local. vitest.config.ts calls runTmpdir() when it is loaded,
// before vitest makes its own temp folders; this global setup removes the folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MARK = 'FLEDGE_PURE_TEST_TMPDIR';

/** The run's temp folder, made on the first call in this process; sets TMPDIR and the cache folders. */
export function runTmpdir(): string {
  if (process.env[MARK]) return process.env[MARK];
  const dir = mkdtempSync(join(tmpdir(), 'fledge-pure-tests-'));
  process.env[MARK] = dir;
  process.env.TMPDIR = dir;
  process.env.XDG_CACHE_HOME = join(dir, 'xdg-cache');
  process.env.XDG_DATA_HOME = join(dir, 'xdg-data');
  process.env.npm_config_cache = join(dir, 'npm-cache');
  return dir;
}

export default function setup(): () => void {
  const dir = runTmpdir();
  return () => rmSync(dir, { recursive: true, force: true });
}
