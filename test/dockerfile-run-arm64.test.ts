// A cross-architecture RUN step: `FROM --platform=linux/arm64` over an arm64 busybox image
// (Debian's busybox-static:arm64) runs its step in a build VM emulated by
// qemu-system-aarch64 (TCG on this x86-64 host), with Debian's arm64 kernel and the
// helper's programs (busybox, GNU tar, setpriv with their libraries) from the folder
// .ci/arm64-root unpacks (FLEDGE_PURE_ARM64_ROOT). buildah cannot run an arm64 step on
// this host (no binfmt_misc emulation), so the oracle is the step's own output — `uname
// -m` in the step says aarch64 — plus e2fsck on the ext4 artifact fledge-pure build
// writes and debugfs reading the step's files back from it. The step runs as USER alice
// (the arm64 setpriv) in her home: a file and its hard link, a file fetched from the host
// through the user-mode NAT, a removed file (whiteout) and a replaced folder (opaque: the
// arm64 GNU tar read its trusted.overlay.opaque xattr), owned by her. One VM.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { serveFiles } from './helpers/http.js';
import { ARM64_ROOT } from './helpers/tools.js';

/** One boot of an emulated aarch64 guest on a loaded 2-core machine: seconds when idle, minutes when not. */
const BOOT_MS = 600_000;

/** An arm64 busybox image as an OCI layout in `dir`, its platform linux/arm64 in the config and in index.json. */
function arm64Base(dir: string): void {
  const root = project({
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n',
    'etc/group': 'root:x:0:\nalice:x:1000:\n',
    'home/alice/removeme': 'gone\n',
    'home/alice/old/a': 'old\n',
  });
  for (const p of ['home/alice', 'home/alice/removeme', 'home/alice/old', 'home/alice/old/a'])
    chownSync(join(root, p), 1000, 1000);
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(ARM64_ROOT, 'bin/busybox'), join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'uname', 'id', 'echo', 'ln', 'mkdir', 'cat', 'rm', 'wget'])
    symlinkSync('busybox', join(root, 'bin', a));
  for (const d of ['tmp', 'dev', 'proc', 'sys']) mkdirSync(join(root, d));
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', '.'], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  const layout = join(dir, 'base');
  writeHardLayout(layout, [tar], 'gzip', 'base', { architecture: 'arm64', config: { Env: ['PATH=/bin'] } });
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  index.manifests[0].platform = { architecture: 'arm64', os: 'linux' };
  writeFileSync(join(layout, 'index.json'), JSON.stringify(index));
}

const dockerfile = (port = 1) => `FROM --platform=linux/arm64 oci:./base:base
USER alice
WORKDIR /home/alice
RUN uname -m > arch && id -u > uid && mkdir made && echo "made by the step" > made/file && ln made/file made/hard \\
 && wget -q -O made/fetched http://10.0.2.2:${port}/data && rm removeme && rm -rf old && mkdir old
`;

const TOML =
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n';

function debugfs(img: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('RUN for linux/arm64 in qemu-system-aarch64', () => {
  it(
    'runs the step on aarch64 as USER alice; the ext4 artifact holds its files (e2fsck-clean, read by debugfs)',
    async () => {
      const server = await serveFiles({ '/data': Buffer.from('over the network\n') });
      const port = Number(new URL(server.url).port);
      const dir = project({ 'fledge.toml': TOML, Dockerfile: dockerfile(port), 'kestrel*': '#!/bin/sh\n' });
      arm64Base(dir);
      const r = await runCli(['build', '-o', 'out.img'], { cwd: dir, env: { FLEDGE_PURE_ARM64_ROOT: ARM64_ROOT } });
      await server.close();
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout + r.stderr).toMatch(
        /\[0\] RUN: booting the build VM \(qemu-system-aarch64, .*vmlinuz-\S+-arm64\)/,
      );
      const img = join(dir, 'out.img');
      const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
      expect(fsck.status, fsck.stdout).toBe(0);
      const home = (p: string) => debugfs(img, `cat /home/alice/${p}`);
      expect([home('arch'), home('uid'), home('made/file'), home('made/fetched')]).toEqual([
        'aarch64\n',
        '1000\n',
        'made by the step\n',
        'over the network\n',
      ]);
      expect(server.requests).toEqual(['GET /data']);
      for (const p of ['made/file', 'made/hard']) expect(debugfs(img, `stat /home/alice/${p}`)).toMatch(/Links: 2/);
      expect(debugfs(img, 'stat /home/alice/made/file')).toMatch(/User:\s+1000\s+Group:\s+1000/);
      // removeme gone (whiteout), old replaced (opaque: its a is gone), made by alice
      expect(
        debugfs(img, 'ls -p /home/alice')
          .split('\n')
          .filter((l) => /\/(removeme|old|arch)\//.test(l)),
      ).toEqual([
        expect.stringMatching(/\/100644\/1000\/1000\/arch\//),
        expect.stringMatching(/\/040755\/1000\/1000\/old\//),
      ]);
      expect(debugfs(img, 'ls -p /home/alice/old')).not.toMatch(/\/a\//);
      expect(JSON.parse(debugfs(img, 'cat /etc/fsify-entrypoint')).architecture).toBe('arm64');
    },
    BOOT_MS,
  );

  it('without an arm64 kernel (--no-cache: the step cache holds the step above): one line saying what to set, no artifact', async () => {
    const dir = project({ 'fledge.toml': TOML, Dockerfile: dockerfile(), 'kestrel*': '#!/bin/sh\n' });
    arm64Base(dir);
    const r = await runCli(['build', '-q', '--no-cache', '-o', 'out.img'], {
      cwd: dir,
      env: { FLEDGE_PURE_ARM64_ROOT: '' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^fledge-pure: Dockerfile:4: RUN: a linux\/arm64 stage needs an arm64 kernel for its build VM; set FLEDGE_PURE_ARM64_ROOT to .*, or set FLEDGE_KERNEL_ARM64=/,
    );
    expect(existsSync(join(dir, 'out.img'))).toBe(false);
  });
});
