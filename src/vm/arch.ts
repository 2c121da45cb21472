// The machine a build VM emulates, chosen by the stage's architecture (its base image's,
// or FROM --platform's): x86-64 on QEMU's q35, arm64 on QEMU's virt board (QEMU docs,
// "Arm System emulator", "'virt' generic virtual platform": PL011 serial as ttyAMA0,
// PCI for virtio). A guest of the host's own architecture uses the host's kernel and
// tools and KVM when it works; another architecture is emulated (TCG) and takes its
// kernel and tools from a folder of that architecture's Debian packages
// (FLEDGE_PURE_<ARCH>_ROOT, src/vm/foreign.ts).
import { BuildError } from '../errors.js';
import { EM_AARCH64, EM_X86_64 } from '../elf/format.js';

export interface GuestArch {
  /** the OCI architecture name */
  name: 'amd64' | 'arm64';
  qemu: string;
  /** the Debian package with that QEMU */
  qemuPackage: string;
  machine: string;
  cpu: string;
  /** the kernel's serial console */
  console: string;
  /** kernel arguments this machine needs besides the console */
  kernelArgs: string;
  /** ELF e_machine of its programs */
  elfMachine: number;
  /** Debian's multiarch triplet (library folders) */
  triplet: string;
  /** the kernel is booted as its ELF vmlinux through PVH (src/vm/kernel.ts bootableKernel) */
  pvh: boolean;
}

export const ARCHES: Record<GuestArch['name'], GuestArch> = {
  amd64: {
    name: 'amd64',
    qemu: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    machine: 'q35',
    cpu: 'max',
    console: 'ttyS0',
    // on a host too loaded for TCG to tick in time, the kernel's check that the IO-APIC
    // timer works fails and panics ("IO-APIC + timer doesn't work!", seen here at load
    // 15); no_timer_check skips it (kernel-parameters.txt, no_timer_check)
    kernelArgs: 'no_timer_check',
    elfMachine: EM_X86_64,
    triplet: 'x86_64-linux-gnu',
    pvh: true,
  },
  arm64: {
    name: 'arm64',
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    machine: 'virt',
    // every feature TCG has; pauth-impdef: QEMU's cheap pointer-authentication hash
    // instead of QARMA (QEMU docs, "A-profile CPU architecture support", pauth-impdef)
    cpu: 'max,pauth-impdef=on',
    console: 'ttyAMA0',
    kernelArgs: '',
    elfMachine: EM_AARCH64,
    triplet: 'aarch64-linux-gnu',
    pvh: false,
  },
};

const NODE_ARCH: Record<string, GuestArch['name']> = { x64: 'amd64', arm64: 'arm64' };

/** The build VM's machine for an image of `architecture` (OCI name). */
export function guestArch(architecture: string): GuestArch {
  const a = ARCHES[architecture as GuestArch['name']];
  if (!a)
    throw new BuildError(
      `no build VM for ${architecture} images; RUN steps run for amd64 and arm64 (FROM --platform=linux/amd64 or linux/arm64)`,
    );
  return a;
}

/** The guest is the host's own architecture: host kernel and tools, KVM when usable. */
export function isNative(a: GuestArch): boolean {
  return NODE_ARCH[process.arch] === a.name;
}
