// The helper's programs for a build VM of another architecture than the host's: the
// host's busybox, tar and setpriv cannot run there, and its ldd cannot list a foreign
// program's libraries. They come from FLEDGE_PURE_<ARCH>_ROOT, a folder holding that
// architecture's Debian packages unpacked with `dpkg-deb -x` (busybox-static: bin/busybox;
// tar: bin/tar; util-linux: usr/bin/setpriv, optional; libc6 and the libraries they
// need), and their libraries are found by reading their ELF dynamic sections
// (src/elf/read.ts) in the folder's library folders, as the loader searches
// Debian's multiarch paths (ld.so(8), /etc/ld.so.conf.d/<triplet>.conf).
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BuildError } from '../errors.js';
import { readElf } from '../elf/read.js';
import type { GuestArch } from './arch.js';
import type { HelperTools } from './helper.js';
import { foreignHint, foreignRootVar } from './kernel.js';

function elfOf(path: string, arch: GuestArch, what: string) {
  const elf = readElf(readFileSync(path), path);
  if (elf.machine !== arch.elfMachine)
    throw new BuildError(`${path} (${what}) is not an ${arch.name} program; ${foreignHint(arch)}`);
  return elf;
}

/** A program and, recursively, the libraries it needs, found in the root's library folders. */
function withLibraries(root: string, arch: GuestArch, path: string, name: string): Array<[string, string]> {
  const dirs = [`lib/${arch.triplet}`, `usr/lib/${arch.triplet}`, 'lib', 'usr/lib'].map((d) => join(root, d));
  const out: Array<[string, string]> = [[path, `fp/${name}`]];
  const todo = [...elfOf(path, arch, name).needed];
  for (let lib = todo.shift(); lib !== undefined; lib = todo.shift()) {
    if (out.some(([, to]) => to === `fp/lib/${lib}`)) continue;
    const found = dirs.map((d) => join(d, lib!)).find((f) => existsSync(f));
    if (!found)
      throw new BuildError(
        `${name} needs ${lib}, which is not in ${root}/{lib,usr/lib}[/${arch.triplet}]; unpack its Debian ${arch.name} package there`,
      );
    out.push([found, `fp/lib/${lib}`]);
    todo.push(...elfOf(found, arch, lib).needed);
  }
  return out;
}

export function foreignTools(arch: GuestArch, env: NodeJS.ProcessEnv = process.env): HelperTools {
  const root = env[foreignRootVar(arch)];
  const need = `a linux/${arch.name} stage needs ${arch.name} programs for its build VM (a static busybox, GNU tar)`;
  if (!root) throw new BuildError(`${need}; ${foreignHint(arch)}`);
  const first = (...paths: string[]) => paths.map((p) => join(root, p)).find((p) => existsSync(p));
  const busybox = first('bin/busybox', 'usr/bin/busybox');
  const tar = first('bin/tar', 'usr/bin/tar');
  if (!busybox || !tar)
    throw new BuildError(`${need}, and ${root} has no ${busybox ? 'bin/tar' : 'bin/busybox'}; ${foreignHint(arch)}`);
  if (elfOf(busybox, arch, 'busybox').interp)
    throw new BuildError(`${busybox} is not a static busybox; unpack Debian's busybox-static there`);
  const tarElf = elfOf(tar, arch, 'tar');
  if (!tarElf.interp) throw new BuildError(`${tar} has no loader (PT_INTERP); unpack Debian's tar there`);
  const loader = join(root, tarElf.interp);
  if (!existsSync(loader)) throw new BuildError(`${loader}, tar's loader, is missing; unpack Debian's libc6 there`);
  const files: Array<[string, string]> = [
    ...withLibraries(root, arch, tar, 'tar'),
    [loader, `fp/lib/${basename(loader)}`],
  ];
  const setpriv = first('usr/bin/setpriv', 'bin/setpriv');
  if (setpriv) files.push(...withLibraries(root, arch, setpriv, 'setpriv'));
  // one entry per path in the initramfs (tar and setpriv share libc and the loader)
  const unique = files.filter(([, to], i) => files.findIndex(([, t]) => t === to) === i);
  return { busybox, files: unique, setpriv: setpriv !== undefined, loader: basename(loader) };
}
