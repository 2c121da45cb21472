// A small busybox image for tests whose RUN steps boot: Debian's static busybox with the
// applets the steps use, /etc/passwd, and the folders the build VM mounts over, written as
// an OCI layout at `dir`/base (tag base; `FROM oci:./base:base` in a project at `dir`).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { project } from './cli.js';
import { writeHardLayout } from './hard-image.js';

export function writeBusyboxBase(dir: string, applets = ['sh', 'echo', 'ls', 'sleep', 'cat']): void {
  const root = project({ 'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' });
  mkdirSync(join(root, 'bin'));
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
  for (const d of ['tmp', 'dev', 'proc', 'sys']) mkdirSync(join(root, d));
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', '.'], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  writeHardLayout(join(dir, 'base'), [tar], 'gzip', 'base', { config: { Env: ['PATH=/bin'] } });
}
