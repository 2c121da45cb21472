// Every temporary file of a test run — the tests' own, and those of the programs they
// start (the CLI, QEMU, skopeo, docker-registry) — goes under one folder, TMPDIR for the
// test processes, removed when the run ends: a run leaves nothing behind in /tmp.
// fledge-pure's cache (XDG_CACHE_HOME) and npm's (the npx runs under other Node versions)
// default to folders inside it too, so no test writes to ~/.cache or ~/.npm.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-pure-tests-'));
  process.env.TMPDIR = dir;
  process.env.XDG_CACHE_HOME = join(dir, 'xdg-cache');
  process.env.npm_config_cache = join(dir, 'npm-cache');
  return () => rmSync(dir, { recursive: true, force: true });
}
