// RUN --mount=type=cache shared by builds that run at the same time (two and three real
// CLI processes, one cache folder): the cache disk's lock (src/dockerfile/cache-lock.ts)
// makes the second build on one id wait for the first (sharing=shared, the default, and
// locked), so both steps' files end up in the cache disk, which e2fsck finds clean; a
// lock left by a dead process is taken over; sharing=private on a disk in use mounts a
// new empty disk and leaves the kept one as it was. debugfs reads the disks.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheDiskPath } from '../src/dockerfile/cache-mounts.js';
import { writeBusyboxBase } from './helpers/busybox-image.js';
import { project, runCli } from './helpers/cli.js';

const TOML =
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n';

/** A project whose one RUN writes `name` into the cache mounted with `flags` and lists the cache into /seen. */
function step(name: string, flags: string): string {
  const dir = project({
    'fledge.toml': TOML,
    'kestrel*': '#!/bin/sh\n',
    Dockerfile:
      `FROM oci:./base:base\n` +
      `RUN --mount=type=cache,target=/c,${flags} echo ${name} > /c/${name} && sleep 3 && ls /c > /seen\n`,
  });
  writeBusyboxBase(dir);
  return dir;
}

const debugfs = (img: string, cmd: string) =>
  execFileSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
/** The names in the root folder of an ext4 disk (debugfs ls -l), lost+found and dots left out. */
const names = (img: string) =>
  debugfs(img, 'ls -l /')
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop()!)
    .filter((n) => n && !['.', '..', 'lost+found'].includes(n))
    .sort();

describe('RUN cache mounts shared by concurrent builds', () => {
  it('the second build waits for the first (shared, locked), a stale lock is taken over, private gets its own disk', async () => {
    const cache = project({});
    const mounts = join(cache, 'fledge-pure/run/mounts');
    mkdirSync(mounts, { recursive: true });
    const shared = cacheDiskPath(mounts, 'one');
    // a lock left by a build that died: a process that has exited
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(`${shared}.lock`, `${dead}\n`);
    // the private id's kept disk, with a file, held by this process (alive) for the whole run
    const kept = cacheDiskPath(mounts, 'two');
    const seed = project({ old: 'old\n' });
    execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', seed, kept, '64M']);
    writeFileSync(`${kept}.lock`, `${process.pid}\n`);

    const dirs = [step('a', 'id=one'), step('b', 'id=one,sharing=locked'), step('p', 'id=two,sharing=private')];
    const env = { XDG_CACHE_HOME: cache };
    const runs = await Promise.all(dirs.map((cwd) => runCli(['build', '-o', 'out.img'], { cwd, env })));
    for (const [i, r] of runs.entries()) expect([i, r.code], r.stderr).toEqual([i, 0]);
    const seen = dirs.map((d) => debugfs(join(d, 'out.img'), 'cat /seen'));
    const waited = runs.map((r) =>
      /RUN: waiting for cache mount id=one \(sharing=(shared|locked)\), in use by/.test(r.stderr),
    );

    // one of a and b waited, and saw the other's file; the cache holds both
    expect(waited.slice(0, 2).sort()).toEqual([false, true]);
    // (a new cache disk, made by our ext4 writer, has lost+found, as mke2fs makes it)
    expect(seen[waited[0] ? 0 : 1]).toBe('a\nb\nlost+found\n');
    expect(seen[waited[0] ? 1 : 0]).toBe(waited[0] ? 'b\nlost+found\n' : 'a\nlost+found\n');
    expect(names(shared)).toEqual(['a', 'b']);
    const fsck = spawnSync('e2fsck', ['-fn', shared], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout).toBe(0);
    expect(existsSync(`${shared}.lock`)).toBe(false);

    // private: a new empty disk for the step; the kept one unchanged and still locked by us
    expect(runs[2].stderr).toMatch(
      new RegExp(
        `cache mount id=two is in use by another build \\(pid ${process.pid}\\): sharing=private mounts a new empty cache`,
      ),
    );
    expect(seen[2]).toBe('lost+found\np\n');
    expect(names(kept)).toEqual(['old']);
    expect(debugfs(kept, 'cat /old')).toBe('old\n');
  }, 900_000);
});
