// The initramfs strategy over an image (seed 003: image first, then busybox, then init
// and agent): from a docker-archive (--docker-archive) and from [source] image, booted.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { project, runCli } from './helpers/cli.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';
import { bootInitramfs } from './helpers/qemu.js';
import { skopeoEnv } from './helpers/skopeo.js';

const BUSYBOX = readFileSync('/bin/busybox');
const scratch = mkdtempSync(join(tmpdir(), 'fp-initimg-'));
const archive = join(scratch, 'hard.tar');
const layout = join(scratch, 'layout');

beforeAll(() => {
  writeHardLayout(layout, hardLayers(), 'gzip');
  execFileSync(
    'skopeo',
    ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:hard`, `docker-archive:${archive}:hard:v1`],
    { stdio: 'pipe', env: skopeoEnv() },
  );
});

function files(extra: string): Record<string, string | Buffer> {
  return {
    'fledge.toml':
      `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "./busybox"\n` +
      `busybox_sha256 = "${createHash('sha256').update(BUSYBOX).digest('hex')}"\n${extra}`,
    busybox: BUSYBOX,
  };
}

describe('initramfs from an image', () => {
  it('boots with the image underneath: its files, hard links and /bin → usr/bin symlink kept', async () => {
    const dir = project({
      ...files('\n[init]\nnone = true\n\n[mappings]\n"./init" = "/init"\n'),
      'init*': [
        '#!/bin/sh',
        'mount -t proc proc /proc',
        'echo "IMG hostname=$(cat /etc/hostname) tool=$(stat -c %h:%i /usr/bin/tool) link=$(stat -c %h:%i /usr/sbin/tool-link)"',
        'echo "IMG bin=$(readlink /bin) busybox=$(ls /usr/bin/busybox) big=$(ls /big | wc -l) gone=$(ls /var/cache)"',
        'echo "IMG su=$(stat -c %a:%u:%g /usr/bin/su) console=$(stat -c %t:%T /dev/console)"',
        'poweroff -f',
      ].join('\n'),
    });
    const r = await runCli(['build', '--docker-archive', archive, '-o', 'out.cpio.gz'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: 2 entries carry xattrs, which newc cpio cannot hold/);
    const boot = await bootInitramfs(join(dir, 'out.cpio.gz'));
    const tool = /tool=(\d+:\d+) link=(\d+:\d+)/.exec(boot.output);
    expect(tool?.[1]).toBe(tool?.[2]);
    expect(tool?.[1]).toMatch(/^2:/);
    expect(boot.output).toContain('IMG hostname=upper');
    expect(boot.output).toContain('IMG bin=usr/bin busybox=/usr/bin/busybox big=5000 gone=new');
    expect(boot.output).toContain('IMG su=4755:1000:1000 console=5:1');
    expect(boot.exitedCleanly).toBe(true);
  });

  it('takes [source] image relative to fledge.toml, and never links an applet over an image file', async () => {
    const dir = project(
      files('image = "oci:./img:hard"\n\n[init]\nnone = true\n\n[mappings]\n"./busybox" = "/init"\n'),
    );
    cpSync(layout, join(dir, 'img'), { recursive: true });
    const elsewhere = mkdtempSync(join(tmpdir(), 'fp-cwd-'));
    const r = await runCli(['build', '-q', '-c', join(dir, 'fledge.toml'), '-o', 'out.cpio.gz'], { cwd: elsewhere });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = execFileSync('bsdtar', ['-tvzf', join(elsewhere, 'out.cpio.gz')], { maxBuffer: 1 << 26 }).toString();
    expect(list).toMatch(/lrwxrwxrwx .* usr\/bin\/ls -> busybox\n/);
    expect(list).toMatch(/-rwxr-xr-x .* usr\/bin\/env\n/);
    expect(list).toMatch(/lrwxrwxrwx .* bin -> usr\/bin\n/);
    expect(list).not.toMatch(/ bin\/busybox/);
  });
});
