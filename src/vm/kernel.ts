// The kernel a build VM boots, and the modules its helper initramfs loads. Seed 003's
// FLEDGE_KERNEL_BZIMAGE (or FLEDGE_KERNEL_VMLINUX) when set, else the host's newest
// /boot/vmlinuz-* with the modules under /lib/modules/<version> (Debian's kernel is
// modular: virtio, ext4 and overlayfs are modules there). Modules are taken with their
// dependencies (modules.dep, depmod(8)); one built in (modules.builtin) is skipped.
// A guest of another architecture (src/vm/arch.ts) boots FLEDGE_KERNEL_<ARCH> (e.g.
// FLEDGE_KERNEL_ARM64), else the newest boot/vmlinuz-* in FLEDGE_PURE_<ARCH>_ROOT (a
// folder of that architecture's Debian packages unpacked with dpkg-deb -x); its modules
// are beside it, in <folder holding boot>/lib/modules/<version>, as the package lays
// them out (modules.dep made by `depmod -b <folder> <version>`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BuildError } from '../errors.js';
import { ARCHES, type GuestArch, isNative } from './arch.js';

export interface VmKernel {
  path: string;
  /** /lib/modules/<version>, when the kernel has one */
  modules?: string;
}

const HINT =
  'install a kernel (Debian: apt-get install linux-image-amd64) or set FLEDGE_KERNEL_BZIMAGE=/path/to/bzImage';

export function findKernel(env: NodeJS.ProcessEnv = process.env, arch: GuestArch = ARCHES.amd64): VmKernel {
  if (!isNative(arch)) return foreignKernel(env, arch);
  const given = env.FLEDGE_KERNEL_BZIMAGE || env.FLEDGE_KERNEL_VMLINUX;
  if (given) {
    if (!existsSync(given))
      throw new BuildError(
        `RUN: kernel ${given} (FLEDGE_KERNEL_BZIMAGE / FLEDGE_KERNEL_VMLINUX) does not exist; ${HINT}`,
      );
    return withModules(given);
  }
  const names = existsSync('/boot') ? readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')) : [];
  if (!names.length)
    throw new BuildError(`RUN needs a Linux kernel to boot its build VM and found none in /boot; ${HINT}`);
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return withModules(join('/boot', names[names.length - 1]));
}

function withModules(path: string): VmKernel {
  const dir = `/lib/modules/${basename(path).replace(/^vmlinu[xz]-/, '')}`;
  return existsSync(join(dir, 'modules.dep')) ? { path, modules: dir } : { path };
}

/** The folder of another architecture's Debian packages: FLEDGE_PURE_<ARCH>_ROOT. */
export function foreignRootVar(arch: GuestArch): string {
  return `FLEDGE_PURE_${arch.name.toUpperCase()}_ROOT`;
}

/** What to do when a foreign build VM lacks its kernel or tools. */
export function foreignHint(arch: GuestArch): string {
  return (
    `set ${foreignRootVar(arch)} to a folder holding Debian's ${arch.name} packages linux-image-${arch.name}, ` +
    `busybox-static, tar and their libraries unpacked with dpkg-deb -x (the README, "Dockerfile builds", says how)`
  );
}

function foreignKernel(env: NodeJS.ProcessEnv, arch: GuestArch): VmKernel {
  const kernelVar = `FLEDGE_KERNEL_${arch.name.toUpperCase()}`;
  const rootVar = foreignRootVar(arch);
  const given = env[kernelVar];
  const root = env[rootVar];
  if (given && !existsSync(given))
    throw new BuildError(`${arch.name} kernel ${given} (${kernelVar}) does not exist; ${foreignHint(arch)}`);
  const boot = root ? join(root, 'boot') : '';
  const names = boot && existsSync(boot) ? readdirSync(boot).filter((n) => n.startsWith('vmlinuz-')) : [];
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const path = given || (names.length ? join(boot, names[names.length - 1]) : undefined);
  if (!path)
    throw new BuildError(
      `a linux/${arch.name} stage needs an ${arch.name} kernel for its build VM` +
        `${root ? ` and ${rootVar}=${root} has no boot/vmlinuz-*` : ''}; ${foreignHint(arch)}, or set ${kernelVar}=/path/to/kernel`,
    );
  const version = basename(path).replace(/^vmlinu[xz]-/, '');
  const modules = join(dirname(path), '..', 'lib', 'modules', version);
  if (!existsSync(modules)) return { path };
  if (!existsSync(join(modules, 'modules.dep')))
    throw new BuildError(
      `${modules} has no modules.dep; make it with depmod -b ${resolve(dirname(path), '..')} ${version}`,
    );
  return { path, modules };
}

/** Module files for `names`, dependencies first; names neither in modules.dep nor built in are an error. */
export function moduleFiles(k: VmKernel, names: string[]): string[] {
  if (!k.modules) return [];
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(join(k.modules, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(modName(mod), [mod, ...(rest ?? '').trim().split(/\s+/).filter(Boolean)]);
  }
  const builtinFile = join(k.modules, 'modules.builtin');
  const builtin = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').map(modName) : []);
  const out: string[] = [];
  const add = (name: string): void => {
    const entry = deps.get(name);
    if (!entry) {
      if (builtin.has(name)) return;
      throw new BuildError(
        `RUN: the kernel's modules (${k.modules}) have no ${name}; use a kernel with virtio, ext4 and overlayfs (FLEDGE_KERNEL_BZIMAGE)`,
      );
    }
    for (const d of entry.slice(1).reverse()) add(modName(d));
    const file = join(k.modules!, entry[0]);
    if (!out.includes(file)) out.push(file);
  };
  for (const n of names) add(n);
  return out;
}

function modName(path: string): string {
  return basename(path)
    .replace(/\.ko.*$/, '')
    .replace(/-/g, '_');
}

const PAYLOADS: Array<[Buffer, string, string[]]> = [
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz', ['-dc', '--single-stream']],
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd', ['-dcq']],
  [Buffer.from([0x1f, 0x8b, 0x08]), 'gzip', ['-dc']],
];

/**
 * The kernel as QEMU boots it fastest: the ELF vmlinux inside a bzImage (found by its
 * compression magic, decompressed by xz/zstd/gzip, kept in the cache), which QEMU starts
 * through its PVH entry without the in-guest decompression (seconds under TCG); the
 * bzImage itself when that cannot be done.
 */
export function bootableKernel(k: VmKernel, cache: string): string {
  const st = statSync(k.path);
  const out = join(cache, `${basename(k.path)}-${st.size}-${Math.floor(st.mtimeMs)}.vmlinux`);
  if (existsSync(out)) return out;
  const data = readFileSync(k.path);
  if (data.readUInt32BE(0) === 0x7f454c46) return k.path;
  for (const [magic, cmd, args] of PAYLOADS) {
    for (let i = data.indexOf(magic); i >= 0; i = data.indexOf(magic, i + 1)) {
      const r = spawnSync(cmd, args, { input: data.subarray(i), maxBuffer: 1 << 30 });
      // trailing bytes after the stream can make the tool exit non-zero: the ELF header decides
      if (r.stdout && r.stdout.length > 1 << 20 && r.stdout.readUInt32BE(0) === 0x7f454c46) {
        mkdirSync(cache, { recursive: true });
        const tmp = `${out}.${process.pid}.partial`;
        writeFileSync(tmp, r.stdout);
        renameSync(tmp, out);
        return out;
      }
    }
  }
  return k.path;
}
