// The lock on a RUN cache mount's disk (src/dockerfile/cache-lock.ts, cache-mounts.ts):
// O_EXCL lock file with the holder's pid, a dead holder's lock taken over, a waiter that
// says once whom it waits for and goes on when the lock is given back, `sharing=private`
// on a disk in use mounting a new disk instead, and the sharing modes BuildKit names.
// The real concurrent builds are test/dockerfile-cache-lock.test.ts.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lock, lockHolder, tryLock, unlock } from '../../src/dockerfile/cache-lock.js';
import { cacheDiskPath, holdCacheMounts } from '../../src/dockerfile/cache-mounts.js';
import { mountFrom, mountOptions, type StepMount } from '../../src/dockerfile/run-mounts.js';

const dir = () => mkdtempSync(join(tmpdir(), 'fp-lock-'));

/** A pid no process has: counted down from the largest pid Linux gives (4194304, pid_max's limit). */
function deadPid(): number {
  for (let pid = 4_194_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

const cacheMount = (flag: string) => mountFrom(mountOptions(flag), '/') as StepMount;

describe('the cache mount lock', () => {
  it('is made with our pid; a second taker sees the live holder; unlock removes it', () => {
    const path = join(dir(), 'disk.img.lock');
    expect(tryLock(path)).toEqual({ held: true });
    expect(readFileSync(path, 'utf8')).toBe(`${process.pid}\n`);
    expect(tryLock(path)).toEqual({ held: false, by: process.pid });
    unlock(path);
    expect(existsSync(path)).toBe(false);
  });

  it('a lock whose pid is dead is taken over', () => {
    const path = join(dir(), 'disk.img.lock');
    writeFileSync(path, `${deadPid()}\n`);
    expect(tryLock(path)).toEqual({ held: true });
    expect(lockHolder(path)).toBe(process.pid);
    unlock(path);
  });

  it('a waiter says once whom it waits for and holds the lock once it is given back', async () => {
    const path = join(dir(), 'disk.img.lock');
    writeFileSync(path, `${process.ppid}\n`); // a live process that is not us
    const said: (number | undefined)[] = [];
    const waiting = lock(path, (pid) => said.push(pid));
    await new Promise((r) => setTimeout(r, 1000));
    expect(lockHolder(path)).toBe(process.ppid);
    writeFileSync(path, `${deadPid()}\n`); // its holder died
    await waiting;
    expect([said, lockHolder(path)]).toEqual([[process.ppid], process.pid]);
    unlock(path);
  });

  it('sharing=private on a disk in use mounts a new disk in the step folder; shared and locked wait for it', async () => {
    const [cache, tmp] = [dir(), dir()];
    const made: string[] = [];
    const logged: string[] = [];
    const plan = {
      dir: cache,
      tmp,
      epoch: { sec: 0, nsec: 0 },
      write: (_: unknown, path: string) => (made.push(path), writeFileSync(path, '')),
      log: (l: string) => logged.push(l),
      prefix: '[0] RUN',
    };
    const m = cacheMount('type=cache,target=/c,id=x,sharing=private');
    const kept = cacheDiskPath(cache, 'x');
    writeFileSync(`${kept}.lock`, `${process.ppid}\n`);
    const release = await holdCacheMounts([m], plan);
    expect([m.disk, made, lockHolder(`${kept}.lock`)]).toEqual([
      join(tmp, 'private-cache0.img'),
      [`${join(tmp, 'private-cache0.img')}.${process.pid}.partial`],
      process.ppid,
    ]);
    expect(logged).toEqual([
      `[0] RUN: cache mount id=x is in use by another build (pid ${process.ppid}): sharing=private mounts a new empty cache for this step`,
    ]);
    release();
    expect(lockHolder(`${kept}.lock`)).toBe(process.ppid);
    // the same disk with sharing=shared: waits, then holds the kept disk
    const s = cacheMount('type=cache,target=/c,id=x');
    const held = holdCacheMounts([s], plan);
    await new Promise((r) => setTimeout(r, 700));
    expect(logged[1]).toMatch(/^\[0\] RUN: waiting for cache mount id=x \(sharing=shared\), in use by another build/);
    writeFileSync(`${kept}.lock`, `${deadPid()}\n`);
    (await held)();
    expect([s.disk, existsSync(`${kept}.lock`)]).toEqual([kept, false]);
  });

  it('sharing takes shared (the default), private and locked; anything else is one line', () => {
    expect(cacheMount('type=cache,target=/c').sharing).toBe('shared');
    expect(cacheMount('type=cache,target=/c,sharing=locked').sharing).toBe('locked');
    expect(() => cacheMount('type=cache,target=/c,sharing=exclusive')).toThrow(
      /^--mount sharing=exclusive: unknown sharing mode; use shared, private or locked$/,
    );
  });
});
