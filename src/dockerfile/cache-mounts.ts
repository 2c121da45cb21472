// RUN --mount=type=cache disks and how concurrent builds share them. A cache mount is an
// ext4 disk kept in the cache (run/mounts/<sha256 of id>.img) and attached to the build
// VM, whose kernel mounts it read-write: two VMs writing one ext4 image at once would
// corrupt it (each kernel caches and writes the metadata as if it owned the disk). So
// BuildKit's sharing modes (Dockerfile reference, RUN --mount=type=cache, `sharing`:
// "One of shared, private, or locked. Defaults to shared. A shared cache mount can be
// used concurrently by multiple writers. private creates a new mount if there are
// multiple writers. locked pauses the second writer until the first one releases the
// mount."; BuildKit's solver/pb/ops.proto CacheSharingOpt says the same) become:
// - locked: the disk's lock file (cache-lock.ts), waited for;
// - shared: the same, since concurrent writers of one ext4 disk cannot be allowed; the
//   second build waits, so both builds' writes end up in the cache, one after the other;
// - private: the disk when it is free; when another build holds it, a new empty disk in
//   the step's temp folder, thrown away after the step (BuildKit keeps such a private
//   mount as a cache of its own; we do not).
// Locks are taken in the order of the disks' names, so two builds that mount the same
// ids never wait for each other both ways.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { type Time, Tree } from '../tree/tree.js';
import { lock, tryLock, unlock } from './cache-lock.js';
import type { StepMount } from './run-mounts.js';

export interface CacheMountPlan {
  /** where the cache disks are kept (run/mounts) */
  dir: string;
  /** the step's temp folder (a private mount's fresh disk) */
  tmp: string;
  epoch: Time;
  /** writes an empty ext4 disk with this root at this path */
  write: (tree: Tree, path: string) => void;
  log: (line: string) => void;
  prefix: string;
}

/** The kept disk of cache id `id` in `dir`. */
export function cacheDiskPath(dir: string, id: string): string {
  return join(dir, `${createHash('sha256').update(id).digest('hex')}.img`);
}

/** Makes the empty disk of m at path (root folder owned and moded as asked) unless it exists. */
function makeDisk(m: StepMount, path: string, plan: CacheMountPlan): void {
  if (existsSync(path)) return;
  mkdirSync(plan.dir, { recursive: true });
  const tmp = `${path}.${process.pid}.partial`;
  plan.write(new Tree({ ...m.root!, mtime: plan.epoch }), tmp);
  renameSync(tmp, path);
}

/** Sets each cache mount's disk, holding its lock as its sharing mode says; returns what releases them. */
export async function holdCacheMounts(mounts: StepMount[], plan: CacheMountPlan): Promise<() => void> {
  const held: string[] = [];
  const release = () => held.splice(0).forEach(unlock);
  const caches = mounts.filter((m) => m.kind === 'cache');
  const byPath = caches.map((m) => ({ m, path: cacheDiskPath(plan.dir, m.id!) }));
  try {
    mkdirSync(plan.dir, { recursive: true });
    for (const { m, path } of byPath.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      m.disk = (await holdOne(m, path, plan)) ? path : freshDisk(caches.indexOf(m), plan);
      if (m.disk === path) held.push(`${path}.lock`);
      makeDisk(m, m.disk, plan);
    }
  } catch (e) {
    release();
    throw e;
  }
  return release;
}

/** Takes the lock of m's disk: waits for it (shared, locked), or only when free (private); whether it is held. */
async function holdOne(m: StepMount, path: string, plan: CacheMountPlan): Promise<boolean> {
  const file = `${path}.lock`;
  const what = `cache mount id=${m.id}`;
  if (m.sharing === 'private') {
    const r = tryLock(file);
    if (!r.held)
      plan.log(
        `${plan.prefix}: ${what} is in use by ${by(r.by)}: sharing=private mounts a new empty cache for this step`,
      );
    return r.held;
  }
  await lock(file, (pid) =>
    plan.log(`${plan.prefix}: waiting for ${what} (sharing=${m.sharing}), in use by ${by(pid)}; lock file ${file}`),
  );
  return true;
}

const by = (pid: number | undefined) => (pid === undefined ? 'another build' : `another build (pid ${pid})`);

/** A new empty disk for a private mount whose cache is in use, in the step's temp folder. */
function freshDisk(i: number, plan: CacheMountPlan): string {
  return join(plan.tmp, `private-cache${i}.img`);
}
