// Which hypervisor runs a build VM. The issue asks for cloud-hypervisor when it is there
// and KVM is usable: `CLOUDHYPERVISOR`, "path to the cloud-hypervisor binary (default:
// cloud-hypervisor in PATH)" (Fledge's docs). Cloud Hypervisor runs only on top of KVM or
// MSHV, it has no software emulation (its README, "What is Cloud Hypervisor?"). fledge-pure
// has no cloud-hypervisor launch: where it was written cloud-hypervisor could not be
// installed (no Debian 12 package, none on npm) and /dev/kvm aborts every VM, so a launch
// could not be tested. QEMU (qemu.ts) runs every step; this module makes that choice
// explicit: a CLOUDHYPERVISOR that is not an executable file is an error, and a
// cloud-hypervisor that is there gets one line saying why QEMU runs instead.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BuildError } from '../errors.js';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** CLOUDHYPERVISOR (which must be an executable file), else cloud-hypervisor on PATH, else undefined. */
export function cloudHypervisorPath(env: NodeJS.ProcessEnv): string | undefined {
  const given = env.CLOUDHYPERVISOR;
  if (given) {
    if (!executable(given))
      throw new BuildError(
        `CLOUDHYPERVISOR=${given} is not an executable file; point it at the cloud-hypervisor binary, or unset it (QEMU runs RUN steps then)`,
      );
    return given;
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.map((d) => join(d, 'cloud-hypervisor')).find(executable);
}

/** The line saying why QEMU runs the build VM though cloud-hypervisor is there; undefined when it is not there. */
export function hypervisorNotice(env: NodeJS.ProcessEnv, kvmUsable: () => boolean): string | undefined {
  const ch = cloudHypervisorPath(env);
  if (ch === undefined) return undefined;
  return kvmUsable()
    ? `warning: cloud-hypervisor (${ch}) is not supported by fledge-pure yet: QEMU with KVM runs RUN steps`
    : `warning: cloud-hypervisor (${ch}) needs KVM, and /dev/kvm is not usable here: QEMU (TCG, software emulation) runs RUN steps`;
}

let said = false;

/** Before a build VM boots: fails on a bad CLOUDHYPERVISOR; logs the notice once per process. */
export function checkHypervisor(env: NodeJS.ProcessEnv, kvmUsable: () => boolean, log: (line: string) => void): void {
  const notice = hypervisorNotice(env, kvmUsable);
  if (notice !== undefined && !said) log(notice);
  said ||= notice !== undefined;
}
