// Runs the compiled CLI in a folder, as a user would, and writes throwaway projects.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** One download cache for the test run, outside every project folder. */
export const CACHE = mkdtempSync(join(tmpdir(), 'fp-cache-'));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (tests serve HTTP from it meanwhile); `node` another Node binary. */
export function runCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; node?: string },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, XDG_CACHE_HOME: CACHE, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A fresh folder with these files; a name ending in "*" is made executable. */
export function project(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-proj-'));
  for (const [name, data] of Object.entries(files)) {
    const exec = name.endsWith('*');
    const path = join(dir, exec ? name.slice(0, -1) : name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    if (exec) chmodSync(path, 0o755);
  }
  return dir;
}
