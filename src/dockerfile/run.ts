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
import { writeHelperInitramfs } from '../vm/helper.js';
import { bootableKernel, findKernel } from '../vm/kernel.js';
import { runVm } from '../vm/qemu.js';
import type { Builder } from './build.js';
import { type StageState, stageEnv } from './metadata.js';
import type { Instruction } from './parse.js';
import type { Stage } from './stages.js';
import { configJson } from './image-config.js';
import { cachedStep, rememberStep, stepKey, treeDigest } from './run-cache.js';
import { keepTar, stepLayer } from './run-layer.js';
import { resolveOwner } from './users.js';

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
    throw new Error(`--${f.name}${f.value === undefined ? '' : `=${f.value}`} is not supported by fledge-pure yet; remove it`);
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

function stepScript(state: StageState, argv: string[], setpriv: boolean): string {
  const c = state.image.config;
  const env = [...stageEnv(state)].map(([k, v]) => q(`${k}=${v}`));
  const owner = c.User ? resolveOwner(state.tree, c.User) : { uid: 0, gid: 0 };
  let drop = '';
  if (owner.uid !== 0 || owner.gid !== 0) {
    if (!setpriv) throw new Error(`USER ${c.User} needs setpriv (util-linux) on the host to run the step as that user; install util-linux`);
    drop = `/dev/.fp/lib/ld-linux-x86-64.so.2 --library-path /dev/.fp/lib /dev/.fp/setpriv --reuid=${owner.uid} --regid=${owner.gid} --clear-groups -- `;
  }
  return `exec chroot /root /dev/.fp/busybox env -i ${env.join(' ')} ${drop}/dev/.fp/busybox sh -c ${q(WRAP)} ${q(c.WorkingDir || '/')} ${argv.map(q).join(' ')}\n`;
}

/** A throwaway disk: written in place, not hashed (an artifact file reads itself back to hash it). */
function writeDisk(tree: Tree, path: string, sizeBufferMb: number, epoch: Time): void {
  const fd = openSync(path, 'w');
  const sink: ImageSink = {
    writeAt(chunk, position) {
      for (let o = 0; o < chunk.length; ) o += writeSync(fd, chunk, o, chunk.length - o, position + o);
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
}

async function boot(vm: { kernel: string; initrd: string; network: boolean }, disks: string[], nonce: string, log: (l: string) => void, prefix: string): Promise<StepResult> {
  const r: StepResult = { code: undefined };
  const marker = new RegExp(`^@@FP-(?:${nonce})? (EXIT|FAIL) (.*)$`);
  const [lower, scratch, out] = disks;
  await runVm({
    ...vm,
    disks: [{ file: lower, readonly: true }, { file: scratch }, { file: out }],
    onLine: (line) => {
      const m = marker.exec(line);
      if (!m) log(`${prefix} | ${line}`);
      else if (m[1] === 'EXIT') r.code = Number(m[2]);
      else r.failure = m[2];
    },
  });
  return r;
}

export async function dispatchRun(b: Builder, s: Stage, state: StageState, inst: Instruction): Promise<void> {
  checkFlags(inst);
  const argv = runArgv(inst, state.image.config.Shell ?? ['/bin/sh', '-c']);
  const network = inst.flags.find((f) => f.name === 'network')?.value !== 'none';
  const prefix = `[${s.name ?? s.index}] RUN`;
  const cache = cachePaths.run(b.o.cacheDir);
  const key = stepKey({ tree: treeDigest(state.tree), config: configJson(state.image).toString('utf8'), args: [...stageEnv(state)], argv, network });
  let tar = b.o.noCache ? undefined : cachedStep(cache, key);
  if (tar) b.o.log(`${prefix}: cached (step ${key.slice(0, 12)}), no VM`);
  else {
    tar = await runInVm(b, state, inst, { argv, network, prefix, cache });
    rememberStep(cache, key, tar);
  }
  applyLayer(state.tree, stepLayer([...readTar(tar)], !state.tree.get('dev')), { layerName: `${b.file}:${inst.line} RUN`, parentAttrs: { mtime: b.o.epoch } });
}

interface RunPlan {
  argv: string[];
  network: boolean;
  prefix: string;
  cache: string;
}

/** Runs the step in a VM; returns its layer tar, kept in the cache. */
async function runInVm(b: Builder, state: StageState, inst: Instruction, { argv, network, prefix, cache }: RunPlan): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-run-'));
  try {
    const nonce = randomBytes(8).toString('hex');
    const kernel = findKernel();
    const helper = await writeHelperInitramfs(join(dir, 'helper.cpio.gz'), kernel, b.o.cacheDir);
    const script = stepScript(state, argv, helper.setpriv);
    const disks = ['lower.img', 'scratch.img', 'out.tar'].map((n) => join(dir, n));
    const [lower, scratch, out] = disks;
    writeDisk(state.tree, lower, 0, b.o.epoch);
    writeDisk(scratchTree(script, nonce, b.o.epoch), scratch, SCRATCH_MB, b.o.epoch);
    closeSync(openSync(out, 'w'));
    truncateSync(out, (SCRATCH_MB + 512) * 1024 * 1024);
    b.o.log(`${prefix}: booting the build VM (${kernel.path})`);
    const r = await boot({ kernel: bootableKernel(kernel, cachePaths.vm(b.o.cacheDir)), initrd: helper.initrd, network }, disks, nonce, b.o.log, prefix);
    if (r.failure) throw new BuildError(`the build VM failed: ${r.failure}`);
    if (r.code === undefined) throw new BuildError("the build VM stopped without reporting the step's exit code; see the console lines above");
    if (r.code !== 0) throw new BuildError(`"${inst.rest.split('\n')[0].slice(0, 60)}" failed with exit code ${r.code}`);
    return keepTar(out, cache);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
