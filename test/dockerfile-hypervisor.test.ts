// The build VM's hypervisor from the command line (src/vm/hypervisor.ts): with
// CLOUDHYPERVISOR set to an executable, the RUN step still runs (in QEMU) and one line
// says why cloud-hypervisor is not used — it needs KVM, which is not usable here (or, with
// KVM, it is not supported yet); a CLOUDHYPERVISOR that does not exist stops the build
// with one line, before any VM, and leaves no artifact (a step taken from the step cache
// boots no VM and needs no hypervisor, so these builds use --no-cache).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../src/vm/qemu.js';
import { writeBusyboxBase } from './helpers/busybox-image.js';
import { project, runCli } from './helpers/cli.js';

const TOML =
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n';

function withStep(): string {
  const dir = project({
    'fledge.toml': TOML,
    'kestrel*': '#!/bin/sh\n',
    Dockerfile: 'FROM oci:./base:base\nRUN echo ran > /ran\nRUN cat /ran > /ran-again\n',
  });
  writeBusyboxBase(dir);
  return dir;
}

describe('the build VM hypervisor, from the command line', () => {
  it('CLOUDHYPERVISOR set: QEMU runs the steps and one line says why', async () => {
    const dir = withStep();
    const r = await runCli(['build', '-o', 'out.img', '--no-cache'], {
      cwd: dir,
      env: { CLOUDHYPERVISOR: '/bin/true' },
    });
    expect(r.code, r.stderr).toBe(0);
    const why = kvmUsable()
      ? 'warning: cloud-hypervisor (/bin/true) is not supported by fledge-pure yet: QEMU with KVM runs RUN steps'
      : 'warning: cloud-hypervisor (/bin/true) needs KVM, and /dev/kvm is not usable here: QEMU (TCG, software emulation) runs RUN steps';
    expect(r.stderr.split('\n').filter((l) => l.includes('cloud-hypervisor'))).toEqual([why]);
    expect(r.stderr.match(/booting the build VM/g)).toHaveLength(2);
    const cat = execFileSync('debugfs', ['-R', 'cat /ran-again', join(dir, 'out.img')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(cat).toBe('ran\n');
  }, 600_000);

  it('CLOUDHYPERVISOR that does not exist: one error line, no VM, no artifact', async () => {
    const dir = withStep();
    const r = await runCli(['build', '-q', '-o', 'out.img', '--no-cache'], {
      cwd: dir,
      env: { CLOUDHYPERVISOR: '/nonexistent/ch' },
    });
    expect([r.code, r.stderr]).toEqual([
      1,
      'fledge-pure: Dockerfile:2: RUN: CLOUDHYPERVISOR=/nonexistent/ch is not an executable file; point it at the cloud-hypervisor binary, or unset it (QEMU runs RUN steps then)\n',
    ]);
    expect(existsSync(join(dir, 'out.img'))).toBe(false);
  });
});
