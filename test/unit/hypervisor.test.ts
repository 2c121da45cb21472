// The hypervisor choice (src/vm/hypervisor.ts): CLOUDHYPERVISOR, else cloud-hypervisor on
// PATH; one error line when CLOUDHYPERVISOR is not an executable file; one notice line,
// once per process, saying why QEMU runs the step (cloud-hypervisor needs KVM; with KVM,
// it is not supported yet). The files named are never started.
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHypervisor, cloudHypervisorPath, hypervisorNotice } from '../../src/vm/hypervisor.js';

describe('the build VM hypervisor', () => {
  it('CLOUDHYPERVISOR that is missing or not executable: one line saying what to do', () => {
    for (const bad of ['/nonexistent/cloud-hypervisor', '/etc/passwd', '/bin'])
      expect(() => cloudHypervisorPath({ CLOUDHYPERVISOR: bad })).toThrow(
        `CLOUDHYPERVISOR=${bad} is not an executable file; point it at the cloud-hypervisor binary, or unset it (QEMU runs RUN steps then)`,
      );
  });

  it('CLOUDHYPERVISOR, else cloud-hypervisor on PATH, else none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-ch-'));
    symlinkSync('/bin/true', join(dir, 'cloud-hypervisor'));
    expect(cloudHypervisorPath({ CLOUDHYPERVISOR: '/bin/true', PATH: dir })).toBe('/bin/true');
    expect(cloudHypervisorPath({ PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'cloud-hypervisor'));
    expect(cloudHypervisorPath({ PATH: '/nonexistent' })).toBeUndefined();
    expect(hypervisorNotice({ PATH: '/nonexistent' }, () => false)).toBeUndefined();
  });

  it('says why QEMU runs the step: without KVM cloud-hypervisor cannot run, with KVM it is not supported yet', () => {
    const env = { CLOUDHYPERVISOR: '/bin/true' };
    expect(hypervisorNotice(env, () => false)).toBe(
      'warning: cloud-hypervisor (/bin/true) needs KVM, and /dev/kvm is not usable here: QEMU (TCG, software emulation) runs RUN steps',
    );
    expect(hypervisorNotice(env, () => true)).toBe(
      'warning: cloud-hypervisor (/bin/true) is not supported by fledge-pure yet: QEMU with KVM runs RUN steps',
    );
    const lines: string[] = [];
    checkHypervisor(
      { PATH: '/nonexistent' },
      () => false,
      (l) => lines.push(l),
    );
    for (let i = 0; i < 3; i++)
      checkHypervisor(
        env,
        () => false,
        (l) => lines.push(l),
      );
    expect(lines).toHaveLength(1);
    expect(() =>
      checkHypervisor(
        { CLOUDHYPERVISOR: '/nonexistent' },
        () => false,
        () => {},
      ),
    ).toThrow(/^CLOUDHYPERVISOR=/);
  });
});
