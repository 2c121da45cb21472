// Runs a build VM: qemu-system-x86_64 (or qemu-system-aarch64 for an arm64 stage,
// src/vm/arch.ts) with KVM when the guest is the host's architecture and /dev/kvm is
// usable — probed once by starting a paused VM, as a /dev/kvm that opens can still fail
// (nested virtualisation without MSR support aborts QEMU at once) — else TCG software
// emulation; the kernel and helper initramfs, raw disks as virtio-blk, the serial
// console on stdio. Console lines are handed to the caller as they come (the step's
// output streams); the VM powers itself off at the end.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { BuildError } from '../errors.js';
import { ARCHES, type GuestArch, isNative } from './arch.js';

export interface VmDisk {
  file: string;
  readonly?: boolean;
}

export interface VmOptions {
  kernel: string;
  initrd: string;
  disks: VmDisk[];
  memMb?: number;
  /** user-mode NAT (default) or no network card */
  network?: boolean;
  /** the machine (default x86-64) */
  arch?: GuestArch;
  onLine: (line: string) => void;
}

let kvm: boolean | undefined;

/** KVM works: /dev/kvm opens read-write and a paused VM of the host's architecture stays up for a second. */
export function kvmUsable(): boolean {
  if (kvm !== undefined) return kvm;
  const host = Object.values(ARCHES).find(isNative);
  if (!host) return (kvm = false);
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    const r = spawnSync(
      host.qemu,
      ['-machine', host.machine, '-accel', 'kvm', '-cpu', 'max', '-nodefaults', '-display', 'none', '-S', '-m', '64'],
      { timeout: 1000, stdio: 'ignore' },
    );
    kvm = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT';
  } catch {
    kvm = false;
  }
  return kvm;
}

export function qemuArgs(o: VmOptions): string[] {
  const a = o.arch ?? ARCHES.amd64;
  const accel = isNative(a) && kvmUsable() ? 'kvm' : 'tcg';
  const args = [
    '-machine',
    a.machine,
    '-accel',
    accel,
    '-cpu',
    // the TCG-only options of a.cpu are not for KVM, whose max is the host's CPU
    accel === 'kvm' ? 'max' : a.cpu,
    '-m',
    String(o.memMb ?? 1024),
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-no-reboot',
    '-nic',
    o.network === false ? 'none' : 'user,model=virtio-net-pci',
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    `console=${a.console} ${a.kernelArgs} panic=-1 quiet loglevel=0`.replace('  ', ' '),
  ];
  for (const d of o.disks)
    args.push('-drive', `file=${d.file},format=raw,if=virtio${d.readonly ? ',readonly=on' : ''}`);
  return args;
}

/** Boots and waits for the VM to power off; resolves with QEMU's exit code. */
export function runVm(o: VmOptions): Promise<number> {
  const a = o.arch ?? ARCHES.amd64;
  const cannot = (e: Error) =>
    new BuildError(
      `RUN: cannot start ${a.qemu} (${e.message}); install QEMU (Debian: apt-get install ${a.qemuPackage})`,
    );
  return new Promise((resolve, reject) => {
    let proc;
    try {
      proc = spawn(a.qemu, qemuArgs(o), { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      reject(cannot(e as Error));
      return;
    }
    let pending = '';
    const take = (chunk: Buffer) => {
      pending += chunk.toString('utf8').replace(/\r/g, '');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) o.onLine(l);
    };
    proc.stdout.on('data', take);
    proc.stderr.on('data', take);
    proc.on('error', (e) => reject(cannot(e)));
    proc.on('close', (code) => {
      if (pending) o.onLine(pending);
      resolve(code ?? -1);
    });
  });
}
