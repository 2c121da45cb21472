// Every temporary file of a test run — the tests' own, and those of the programs they
// start (the CLI, QEMU, skopeo, docker-registry) — goes under one folder, TMPDIR for the
// test processes, removed when the run ends: a run leaves nothing behind in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fledge-pure-tests-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
