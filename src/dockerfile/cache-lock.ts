// A lock file that gives one process at a time a RUN cache mount's disk. The file is made
// with O_EXCL (`wx`) and holds the holder's pid; a lock whose pid is no longer alive (a
// build killed with SIGKILL, a crash) is stale and taken over. Taking over is itself
// guarded by a second O_EXCL file (`<lock>.takeover`), so two waiters that both saw the
// same stale pid cannot both remove the lock, one of them the other's fresh one. A lock
// file is removed on release, and on SIGINT/SIGTERM by src/cleanup.ts.
import { closeSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackTemp, untrackTemp } from '../cleanup.js';

/** How often a waiter looks again (ms). */
const POLL_MS = 300;

/** A takeover file older than this (ms) was left by a process that died in the few microseconds it holds one. */
const TAKEOVER_STALE_MS = 10_000;

/** Makes `path` holding our pid, if it does not exist; false when it does. */
function create(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; undefined when it is gone or still being written. */
export function lockHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM: it exists, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the lock at `path` if its holder is `stale` and dead; under the takeover file. */
function takeOver(path: string, stale: number): void {
  const guard = `${path}.takeover`;
  if (!create(guard)) {
    const st = statSync(guard, { throwIfNoEntry: false });
    if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) rmSync(guard, { force: true });
    return;
  }
  try {
    if (lockHolder(path) === stale && !alive(stale)) unlinkSync(path);
  } finally {
    unlinkSync(guard);
  }
}

/** Takes the lock at `path` now if it is free or stale; else returns the live holder's pid. */
export function tryLock(path: string): { held: true } | { held: false; by: number | undefined } {
  for (let round = 0; round < 2; round++) {
    if (create(path)) {
      trackTemp(path);
      return { held: true };
    }
    const by = lockHolder(path);
    if (by === undefined || alive(by)) return { held: false, by };
    takeOver(path, by);
  }
  return { held: false, by: lockHolder(path) };
}

/** Waits for the lock at `path` (saying once, through `waiting`, whom it waits for), then holds it. */
export async function lock(path: string, waiting: (pid: number | undefined) => void): Promise<void> {
  let said = false;
  for (;;) {
    const r = tryLock(path);
    if (r.held) return;
    if (!said) waiting(r.by);
    said = true;
    await sleep(POLL_MS);
  }
}

/** Gives the lock back (only if it is still ours). */
export function unlock(path: string): void {
  untrackTemp(path);
  if (lockHolder(path) === process.pid) unlinkSync(path);
}
