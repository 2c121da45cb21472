// RUN in a throwaway microVM (no root, no daemon, no namespaces on the host): the stage's
// tree is written by our ext4 writer as the read-only lower disk, an empty sparse ext4
// scratch disk holds the overlayfs upper layer and the step script, and the helper
// initramfs (src/vm/helper.ts) runs the command inside the merged root with the
// stage's ENV (and declared ARGs), WORKDIR, USER and SHELL. The VM writes the upper
// layer as a tar to a third disk; on the host it becomes an OCI layer (overlayfs
// whiteouts, 0/0 character devices, become `.wh.` entries; opaque folders get
// `.wh..wh..opq`) applied with the layer code. The step's output streams as it runs;
// a failing step stops the build with its line and exit code.
import { randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageSink } from '../artifact.js';
import { BuildError } from '../errors.js';
import { writeExt4 } from '../ext4/write.js';
import { applyLayer } from '../oci/apply.js';
import { readTar } from '../oci/tar.js';
import { cachePaths } from '../cache.js';
import { bytesContent } from '../tree/content.js';
import { makeNode, type Time, Tree } from '../tree/tree.js';
import { type GuestArch, guestArch, isNative } from '../vm/arch.js';
import { foreignTools } from '../vm/foreign.js';
import { hostTools, writeHelperInitramfs } from '../vm/helper.js';
import { bootableKernel, findKernel } from '../vm/kernel.js';
import { checkHypervisor } from '../vm/hypervisor.js';
import { kvmUsable, runVm, type VmDisk } from '../vm/qemu.js';
import { sourceTree } from './copy-instruction.js';
import { expandWord } from './lex.js';
import { holdCacheMounts } from './cache-mounts.js';
import {
  bindSource,
  mountFrom,
  mountKey,
  mountLines,
  mountOptions,
  type StepMount,
  unmountLines,
} from './run-mounts.js';
import type { Builder } from './build.js';
import { type StageState, stageEnv } from './metadata.js';
import type { Instruction } from './parse.js';
import type { Stage } from './stages.js';
import { configJson } from './image-config.js';
import { cachedStep, rememberStep, stepKey, treeDigest } from './run-cache.js';
import { keepTar, stepLayer } from './run-layer.js';
import { resolveOwner } from './users.js';

/** The cached layer tar's shape (GNU tar with xattrs): a cache made by an older shape is not reused. */
const LAYER_FORMAT = 2;

/** Room for a step's writes to a `rw` bind mount (thrown away after the step, as BuildKit does). */
const BIND_RW_MB = 1024;

/** Scratch space for the upper layer (a sparse file: only what the step writes is allocated). */
const SCRATCH_MB = 4096;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Inside the step's root: cd to WORKDIR, find the command on PATH without busybox's own applets, exec it. */
const WRAP = [
  'cd "$0" || exit 1',
  'c=$1; shift',
  'case $c in */*) ;; *) IFS=:; for p in $PATH; do if [ -f "$p/$c" ] && [ -x "$p/$c" ]; then c=$p/$c; break; fi; done; unset IFS;; esac',
  'case $c in */*) ;; *) echo "$c: not found in PATH" >&2; exit 127;; esac',
  'exec "$c" "$@"',
].join('\n');

function checkFlags(inst: Instruction): void {
  for (const f of inst.flags) {
    if (f.name === 'network' && (f.value === 'none' || f.value === 'default')) continue;
    if (f.name === 'mount' && f.value) continue;
    throw new Error(
      `--${f.name}${f.value === undefined ? '' : `=${f.value}`} is not supported by fledge-pure yet; remove it`,
    );
  }
}

/** The command's argv: exec form, or the shell with the script (here-documents as the shell reads them). */
export function runArgv(inst: Instruction, shell: string[]): string[] {
  if (inst.json) return inst.json;
  const only = /^<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)\1$/.exec(inst.rest.trim());
  if (only && inst.heredocs.length === 1) return [...shell, inst.heredocs[0].content];
  const docs = inst.heredocs.map((h) => `${h.content}${h.name}\n`).join('');
  return [...shell, docs ? `${inst.rest}\n${docs}` : inst.rest];
}

function stepScript(
  state: StageState,
  argv: string[],
  { setpriv, loader }: { setpriv: boolean; loader: string },
  mounts: StepMount[],
): string {
  const c = state.image.config;
  const env = [...stageEnv(state)].map(([k, v]) => q(`${k}=${v}`));
  const owner = c.User ? resolveOwner(state.tree, c.User) : { uid: 0, gid: 0 };
  let drop = '';
  if (owner.uid !== 0 || owner.gid !== 0) {
    if (!setpriv)
      throw new Error(
        `USER ${c.User} needs setpriv (util-linux) on the host to run the step as that user; install util-linux`,
      );
    drop = `/dev/.fp/lib/${loader} --library-path /dev/.fp/lib /dev/.fp/setpriv --reuid=${owner.uid} --regid=${owner.gid} --clear-groups -- `;
  }
  const devs = diskDevices(mounts);
  return [
    ...mounts.flatMap((m, i) => mountLines(m, i, devs[i])),
    `chroot /root /dev/.fp/busybox env -i ${env.join(' ')} ${drop}/dev/.fp/busybox sh -c ${q(WRAP)} ${q(c.WorkingDir || '/')} ${argv.map(q).join(' ')}`,
    'code=$?',
    ...[...mounts.keys()].reverse().flatMap((i) => unmountLines(mounts[i], i)),
    'exit $code',
    '',
  ].join('\n');
}

/** The virtio device of each mount's disk: after vda (lower), vdb (scratch), vdc (out). */
function diskDevices(mounts: StepMount[]): string[] {
  let next = 'd'.charCodeAt(0);
  return mounts.map((m) => (m.kind === 'tmpfs' ? '' : `vd${String.fromCharCode(next++)}`));
}

/** A throwaway disk: written in place, not hashed (an artifact file reads itself back to hash it). */
function writeDisk(tree: Tree, path: string, sizeBufferMb: number, epoch: Time): void {
  const fd = openSync(path, 'w');
  const sink: ImageSink = {
    writeAt(chunk, position) {
      for (let o = 0; o < chunk.length;) o += writeSync(fd, chunk, o, chunk.length - o, position + o);
    },
    setSize: (size) => ftruncateSync(fd, size),
  };
  try {
    writeExt4(tree, sink, { sizeBufferMb, preallocate: false, epoch });
  } finally {
    closeSync(fd);
  }
}

function scratchTree(script: string, nonce: string, epoch: Time): Tree {
  const t = new Tree({ mtime: epoch });
  for (const d of ['upper', 'work']) t.mkdirp(d, { mode: 0o755, mtime: epoch });
  t.set('step.sh', makeNode('file', { mode: 0o644, mtime: epoch }, { content: bytesContent(Buffer.from(script)) }));
  t.set('nonce', makeNode('file', { mode: 0o644, mtime: epoch }, { content: bytesContent(Buffer.from(nonce)) }));
  return t;
}

interface StepResult {
  code: number | undefined;
  failure?: string;
  /** clock readings (ms) at boot and at the step's start and end: for the timing line only */
  at: { boot: number; start?: number; end?: number };
}

async function boot(
  vm: { kernel: string; initrd: string; network: boolean; arch: GuestArch },
  disks: VmDisk[],
  nonce: string,
  log: (l: string) => void,
  prefix: string,
): Promise<StepResult> {
  const r: StepResult = { code: undefined, at: { boot: Date.now() } };
  // a marker may follow the step's last output when that lacks a final newline
  const marker = new RegExp(`@@FP-(?:${nonce})? (EXIT|FAIL|STEP) (.*)$`);
  await runVm({
    ...vm,
    disks,
    onLine: (line) => {
      const m = marker.exec(line);
      if (!m || m.index > 0) log(`${prefix} | ${m ? line.slice(0, m.index) : line}`);
      if (!m) return;
      if (m[1] === 'EXIT') r.code = Number(m[2]);
      else if (m[1] === 'STEP') r.at[m[2] === 'start' ? 'start' : 'end'] = Date.now();
      else r.failure = m[2];
    },
  });
  return r;
}

/** The step's --mount flags: options checked, bind sources resolved (cache disks are held and made by runInVm). */
async function stepMounts(b: Builder, s: Stage, state: StageState, inst: Instruction): Promise<StepMount[]> {
  const mounts: StepMount[] = [];
  for (const f of inst.flags.filter((x) => x.name === 'mount')) {
    const o = mountOptions(expandWord(f.value!, stageEnv(state), b.scope.escape));
    const m: StepMount = mountFrom(o, state.image.config.WorkingDir ?? '/');
    if (m.kind === 'bind') {
      const src = await sourceTree(b, s, o.get('from'), inst);
      Object.assign(m, bindSource(src.tree, o.get('source') ?? '/', src.where));
    }
    if (m.kind === 'cache' && mounts.some((x) => x.kind === 'cache' && x.id === m.id))
      throw new Error(
        `--mount id=${m.id}: this RUN mounts that cache twice; one cache disk mounts once, give each its own id`,
      );
    mounts.push(m);
  }
  return mounts;
}

export async function dispatchRun(b: Builder, s: Stage, state: StageState, inst: Instruction): Promise<void> {
  checkFlags(inst);
  const mounts = await stepMounts(b, s, state, inst);
  const argv = runArgv(inst, state.image.config.Shell ?? ['/bin/sh', '-c']);
  const network = inst.flags.find((f) => f.name === 'network')?.value !== 'none';
  const prefix = `[${s.name ?? s.index}] RUN`;
  const cache = cachePaths.run(b.o.cacheDir);
  const key = stepKey({
    layer: LAYER_FORMAT,
    tree: treeDigest(state.tree),
    config: configJson(state.image).toString('utf8'),
    args: [...stageEnv(state)],
    argv,
    network,
    mounts: mounts.map((m) => mountKey(m, treeDigest)),
  });
  const cached = b.o.noCache ? undefined : cachedStep(cache, key);
  if (cached) b.o.log(`${prefix}: cached (step ${key.slice(0, 12)}), no VM`);
  const ran = cached ? undefined : await runInVm(b, state, inst, { argv, network, prefix, cache, mounts });
  const tar = cached ?? ran!.tar;
  if (ran) rememberStep(cache, key, tar);
  const applying = Date.now();
  applyLayer(state.tree, stepLayer([...readTar(tar)], { dropDev: !state.tree.get('dev'), clamp: b.o.clamp }), {
    layerName: `${b.file}:${inst.line} RUN`,
    parentAttrs: { mtime: b.o.epoch },
  });
  if (ran) b.o.log(`${prefix}: ${timingLine({ ...ran.ms, readBack: ran.ms.readBack + Date.now() - applying })}`);
}

/** Where a step's time went (ms): writing its disks, booting to the step, the step, reading its layer back (in the VM, then on the host). */
interface StepTimes {
  disks: number;
  start: number;
  step: number;
  readBack: number;
}

function timingLine(t: StepTimes): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return `time: disks ${s(t.disks)}, VM start ${s(t.start)}, step ${s(t.step)}, layer read-back ${s(t.readBack)}`;
}

interface RunPlan {
  argv: string[];
  mounts: StepMount[];
  network: boolean;
  prefix: string;
  cache: string;
}

/** The mounts' disks, in device order: a bind source written by our ext4 writer (room to write when rw; the writes are thrown away), a cache's own disk. */
function mountDisks(mounts: StepMount[], dir: string, epoch: Time): VmDisk[] {
  return mounts.flatMap((m, i) => {
    if (m.kind === 'cache') return [{ file: m.disk!, readonly: m.readonly }];
    if (m.kind !== 'bind') return [];
    const file = join(dir, `mount${i}.img`);
    writeDisk(m.source!, file, m.readonly ? 0 : BIND_RW_MB, epoch);
    return [{ file, readonly: m.readonly }];
  });
}

/** Runs the step in a VM; returns its layer tar, kept in the cache, and where the time went. */
async function runInVm(
  b: Builder,
  state: StageState,
  inst: Instruction,
  { argv, network, prefix, cache, mounts }: RunPlan,
): Promise<{ tar: string; ms: StepTimes }> {
  checkHypervisor(process.env, kvmUsable, b.o.log);
  const dir = mkdtempSync(join(tmpdir(), 'fp-run-'));
  let release = () => {};
  try {
    release = await holdCacheMounts(mounts, {
      dir: join(cache, 'mounts'),
      tmp: dir,
      epoch: b.o.epoch,
      write: (tree, path) => writeDisk(tree, path, SCRATCH_MB, b.o.epoch),
      log: b.o.log,
      prefix,
    });
    const began = Date.now();
    const nonce = randomBytes(8).toString('hex');
    const arch = guestArch(state.image.architecture);
    const kernel = findKernel(process.env, arch);
    const tools = isNative(arch) ? await hostTools(b.o.cacheDir) : foreignTools(arch);
    const helper = await writeHelperInitramfs(join(dir, 'helper.cpio.gz'), kernel, tools);
    const script = stepScript(state, argv, helper, mounts);
    const [lower, scratch, out] = ['lower.img', 'scratch.img', 'out.tar'].map((n) => join(dir, n));
    writeDisk(state.tree, lower, 0, b.o.epoch);
    writeDisk(scratchTree(script, nonce, b.o.epoch), scratch, SCRATCH_MB, b.o.epoch);
    closeSync(openSync(out, 'w'));
    truncateSync(out, (SCRATCH_MB + 512) * 1024 * 1024);
    b.o.log(`${prefix}: booting the build VM (${isNative(arch) ? '' : `${arch.qemu}, `}${kernel.path})`);
    const disks: VmDisk[] = [
      { file: lower, readonly: true },
      { file: scratch },
      { file: out },
      ...mountDisks(mounts, dir, b.o.epoch),
    ];
    const r = await boot(
      {
        kernel: arch.pvh ? bootableKernel(kernel, cachePaths.vm(b.o.cacheDir)) : kernel.path,
        initrd: helper.initrd,
        network,
        arch,
      },
      disks,
      nonce,
      b.o.log,
      prefix,
    );
    if (r.failure) throw new BuildError(`the build VM failed: ${r.failure}`);
    if (r.code === undefined)
      throw new BuildError("the build VM stopped without reporting the step's exit code; see the console lines above");
    if (r.code !== 0)
      throw new BuildError(`"${inst.rest.split('\n')[0].slice(0, 60)}" failed with exit code ${r.code}`);
    const tar = keepTar(out, cache);
    const { boot: booted, start = booted, end = start } = r.at;
    return { tar, ms: { disks: booted - began, start: start - booted, step: end - start, readBack: Date.now() - end } };
  } finally {
    release();
    rmSync(dir, { recursive: true, force: true });
  }
}
