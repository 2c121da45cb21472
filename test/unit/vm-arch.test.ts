// The build VM's machine by the stage's architecture (src/vm/arch.ts): the QEMU command
// line of an arm64 guest (TCG on an x86-64 host, the virt board, the PL011 console), and
// the one-line errors when an arm64 stage has no kernel or programs for its VM. No VM is
// started here (test/dockerfile-run-arm64.test.ts boots one).
import { describe, expect, it } from 'vitest';
import { ARCHES, guestArch } from '../../src/vm/arch.js';
import { foreignTools } from '../../src/vm/foreign.js';
import { findKernel } from '../../src/vm/kernel.js';
import { qemuArgs } from '../../src/vm/qemu.js';

describe.runIf(process.arch === 'x64')('an arm64 build VM on an x86-64 host', () => {
  it('is qemu-system-aarch64 -machine virt under TCG, console ttyAMA0, the same disks and NAT as x86-64', () => {
    const args = qemuArgs({
      arch: guestArch('arm64'),
      kernel: 'K',
      initrd: 'I',
      disks: [{ file: 'a.img', readonly: true }, { file: 'b.img' }],
      onLine: () => {},
    });
    expect(args).toEqual([
      ...['-machine', 'virt', '-accel', 'tcg', '-cpu', 'max,pauth-impdef=on', '-m', '1024', '-smp', '1'],
      ...['-nodefaults', '-display', 'none', '-serial', 'stdio', '-no-reboot', '-nic', 'user,model=virtio-net-pci'],
      ...['-kernel', 'K', '-initrd', 'I', '-append', 'console=ttyAMA0 panic=-1 quiet loglevel=0'],
      ...['-drive', 'file=a.img,format=raw,if=virtio,readonly=on', '-drive', 'file=b.img,format=raw,if=virtio'],
    ]);
    expect(ARCHES.arm64.qemu).toBe('qemu-system-aarch64');
  });

  it('without FLEDGE_KERNEL_ARM64 or FLEDGE_PURE_ARM64_ROOT: one line saying what to set', () => {
    expect(() => findKernel({}, ARCHES.arm64)).toThrow(
      /^a linux\/arm64 stage needs an arm64 kernel for its build VM; set FLEDGE_PURE_ARM64_ROOT to a folder holding Debian's arm64 packages .*, or set FLEDGE_KERNEL_ARM64=\/path\/to\/kernel$/,
    );
    expect(() => findKernel({ FLEDGE_KERNEL_ARM64: '/nonexistent/Image' }, ARCHES.arm64)).toThrow(
      /^arm64 kernel \/nonexistent\/Image \(FLEDGE_KERNEL_ARM64\) does not exist; set FLEDGE_PURE_ARM64_ROOT/,
    );
    expect(() => foreignTools(ARCHES.arm64, {})).toThrow(
      /^a linux\/arm64 stage needs arm64 programs for its build VM \(a static busybox, GNU tar\); set FLEDGE_PURE_ARM64_ROOT/,
    );
    expect(() => foreignTools(ARCHES.arm64, { FLEDGE_PURE_ARM64_ROOT: '/nonexistent' })).toThrow(
      /, and \/nonexistent has no bin\/busybox; set FLEDGE_PURE_ARM64_ROOT/,
    );
  });

  it('another architecture: one line naming the ones RUN supports', () => {
    expect(() => guestArch('riscv64')).toThrow(
      /^no build VM for riscv64 images; RUN steps run for amd64 and arm64 \(FROM --platform=linux\/amd64 or linux\/arm64\)$/,
    );
  });
});
