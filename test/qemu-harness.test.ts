// Smoke test for the QEMU / HTTP test harness itself (not for our cpio writer):
// the initramfs here is built with GNU cpio + the Debian busybox-static binary.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootInitramfs, kernelPath } from './helpers/qemu.js';
import { serveFiles } from './helpers/http.js';

const hasQemu = (() => {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    kernelPath();
    return existsSync('/bin/busybox') && existsSync('/usr/bin/cpio');
  } catch {
    return false;
  }
})();

const scratch = mkdtempSync(join(tmpdir(), 'fledge-qemu-harness-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Build a gzip'd newc initramfs with busybox, dev/console, the given /init script and extra files. */
function buildInitramfs(name: string, init: string, extra: Record<string, string> = {}): string {
  const root = join(scratch, name);
  for (const d of ['bin', 'dev', 'proc', 'sys', 'lib/modules']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  execFileSync('mknod', [join(root, 'dev/console'), 'c', '5', '1']);
  writeFileSync(join(root, 'init'), init, { mode: 0o755 });
  for (const [dst, src] of Object.entries(extra)) copyFileSync(src, join(root, dst));
  const out = join(scratch, `${name}.cpio.gz`);
  execFileSync('sh', ['-c', `cd '${root}' && find . | cpio -o -H newc --quiet | gzip -1 > '${out}'`]);
  return out;
}

describe.skipIf(!hasQemu)('qemu harness', () => {
  it('boots busybox /init, which powers the VM off', async () => {
    const initrd = buildInitramfs(
      'basic',
      [
        '#!/bin/busybox sh',
        '/bin/busybox echo FLEDGE-MARKER-OK',
        'echo PID=$$',
        '/bin/busybox mount -t proc proc /proc',
        '/bin/busybox cat /proc/mounts',
        '/bin/busybox poweroff -f',
        '',
      ].join('\n'),
    );
    const r = await bootInitramfs(initrd, { timeoutMs: 90_000 });
    console.log(`basic boot: ${r.durationMs} ms`);
    expect(r.timedOut).toBe(false);
    expect(r.exitedCleanly).toBe(true);
    expect(r.output).toContain('FLEDGE-MARKER-OK');
    expect(r.output).toMatch(/^PID=1$/m);
    expect(r.output).toMatch(/^proc \/proc proc /m);
  }, 120_000);

  it('attaches virtio-blk drives and stops at `until`', async () => {
    const kver = basename(kernelPath()).replace(/^vmlinuz-/, '');
    const mods = [
      'virtio_ring',
      'virtio',
      'virtio_pci_legacy_dev',
      'virtio_pci_modern_dev',
      'virtio_pci',
      'virtio_blk',
    ];
    const modDir = `/lib/modules/${kver}/kernel/drivers`;
    const modFile = (m: string) => [`${modDir}/virtio/${m}.ko`, `${modDir}/block/${m}.ko`].find(existsSync);
    if (mods.some((m) => !modFile(m))) return; // module layout differs; nothing to check here
    const disk = join(scratch, 'disk.raw');
    writeFileSync(disk, Buffer.concat([Buffer.from('DISK-CONTENT-42\n'), Buffer.alloc(1024 * 1024 - 16)]));
    const initrd = buildInitramfs(
      'drive',
      [
        '#!/bin/busybox sh',
        'B=/bin/busybox',
        ...mods.map((m) => `$B insmod /lib/modules/${m}.ko`),
        '$B mount -t devtmpfs dev /dev',
        '$B head -n 1 /dev/vda',
        'echo DRIVE-DONE',
        'while :; do $B sleep 60; done', // never powers off: the harness must kill QEMU
        '',
      ].join('\n'),
      Object.fromEntries(mods.map((m) => [`lib/modules/${m}.ko`, modFile(m)!])),
    );
    const r = await bootInitramfs(initrd, { drives: [disk], until: /DRIVE-DONE/, timeoutMs: 90_000 });
    console.log(`drive boot: ${r.durationMs} ms`);
    expect(r.output).toContain('DISK-CONTENT-42');
    expect(r.timedOut).toBe(false);
    expect(r.exitedCleanly).toBe(false);
  }, 120_000);

  it('reports a timeout and kills QEMU', async () => {
    const initrd = buildInitramfs('hang', '#!/bin/busybox sh\nwhile :; do /bin/busybox sleep 60; done\n');
    const r = await bootInitramfs(initrd, { timeoutMs: 1_500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitedCleanly).toBe(false);
  }, 30_000);
});

describe('http harness', () => {
  it('serves buffers and files on loopback and records requests', async () => {
    const onDisk = join(scratch, 'blob.bin');
    writeFileSync(onDisk, 'from disk');
    const srv = await serveFiles({ '/a.txt': Buffer.from('hello'), 'b/blob': onDisk });
    try {
      expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(`${srv.url}/a.txt`)).text()).toBe('hello');
      expect(await (await fetch(`${srv.url}/b/blob`)).text()).toBe('from disk');
      expect((await fetch(`${srv.url}/missing`)).status).toBe(404);
      expect(srv.requests).toEqual(['GET /a.txt', 'GET /b/blob', 'GET /missing']);
    } finally {
      await srv.close();
    }
  });
});
