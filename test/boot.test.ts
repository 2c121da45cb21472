// The initramfs boots under a real Linux kernel (Debian's, in QEMU) in each init mode.
// busybox comes from Debian's busybox-static, served over loopback HTTP so that the
// url + sha256 path is the one exercised; the agent is a stand-in script.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { project, runCli } from './helpers/cli.js';
import { serveFiles, type FileServer } from './helpers/http.js';
import { bootInitramfs } from './helpers/qemu.js';

const BUSYBOX = readFileSync('/bin/busybox');
const BUSYBOX_SHA = createHash('sha256').update(BUSYBOX).digest('hex');
const AGENT = '#!/bin/sh\necho "AGENT-MARKER pid=$$"\ncat /proc/mounts\npoweroff -f\n';

let server: FileServer;
beforeAll(async () => {
  server = await serveFiles({ '/busybox': BUSYBOX, '/kestrel': Buffer.from(AGENT) });
});
afterAll(() => server.close());

function config(extra: string): string {
  return `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "${server.url}/busybox"\nbusybox_sha256 = "${BUSYBOX_SHA}"\n\n${extra}`;
}

async function buildIn(dir: string, args: string[] = []): Promise<string> {
  const r = await runCli(['build', '--quiet', '-o', 'out.cpio.gz', ...args], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return join(dir, 'out.cpio.gz');
}

describe('initramfs boots', () => {
  it('default mode: /init mounts the basics and makes the agent (from http, checksummed) PID 1', async () => {
    const agentSha = createHash('sha256').update(AGENT).digest('hex');
    const dir = project({
      'fledge.toml': config(
        `[agent]\nsource_strategy = "http"\nurl = "${server.url}/kestrel"\nchecksum = "sha256:${agentSha}"\n`,
      ),
    });
    const boot = await bootInitramfs(await buildIn(dir));
    expect(boot.output).toContain('AGENT-MARKER pid=1');
    const mounts = boot.output.slice(boot.output.indexOf('AGENT-MARKER'));
    for (const m of [
      /^devtmpfs \/dev devtmpfs/m,
      /^proc \/proc proc/m,
      /^sysfs \/sys sysfs/m,
      /^tmpfs \/tmp tmpfs/m,
      /^tmpfs \/run tmpfs/m,
    ]) {
      expect(mounts).toMatch(m);
    }
    expect(boot.exitedCleanly).toBe(true);
    expect(server.requests).toContain('GET /busybox');
  });

  it('custom mode: [init] path becomes /init, busybox applets work', async () => {
    const dir = project({
      'fledge.toml': config('[init]\npath = "./my-init"\n'),
      'my-init*': '#!/bin/sh\nmount -t proc proc /proc\necho "CUSTOM-MARKER pid=$$ $(ls /bin/busybox)"\npoweroff -f\n',
    });
    const boot = await bootInitramfs(await buildIn(dir));
    expect(boot.output).toContain('CUSTOM-MARKER pid=1 /bin/busybox');
    expect(boot.exitedCleanly).toBe(true);
  });

  it('none mode: the mapped /init is PID 1', async () => {
    const dir = project({
      'fledge.toml': config(
        '[init]\nnone = true\n\n[mappings]\n"./supervisor" = "/init"\n"./conf" = "/etc/app/conf"\n',
      ),
      'supervisor*':
        '#!/bin/busybox sh\n/bin/busybox echo "NONE-MARKER pid=$$ $(/bin/busybox cat /etc/app/conf)"\n/bin/busybox poweroff -f\n',
      conf: 'from-mapping',
    });
    const boot = await bootInitramfs(await buildIn(dir));
    expect(boot.output).toContain('NONE-MARKER pid=1 from-mapping');
    expect(boot.exitedCleanly).toBe(true);
  });

  it('a zstd-compressed initramfs (one streamed frame) boots too, its 6 MiB file intact', async () => {
    // 6 MiB: past zstd's 2 MiB window and many 128 KiB blocks, so the kernel's
    // decompressor goes through the whole streamed frame (lib/decompress_unzstd.c)
    const big = Buffer.alloc(6 << 20);
    for (let i = 0, x = 7; i < big.length; i++)
      big[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 61 === 0 ? x >>> 24 : 97 + (i % 13);
    const dir = project({
      'fledge.toml': config('[init]\nnone = true\n\n[mappings]\n"./init" = "/init"\n"./big" = "/big"\n'),
      'init*':
        '#!/bin/busybox sh\n/bin/busybox echo "ZSTD-MARKER pid=$$ $(/bin/busybox sha256sum /big)"\n/bin/busybox poweroff -f\n',
      big,
    });
    const initrd = await buildIn(dir, ['--compression', 'zstd']);
    expect(readFileSync(initrd).readUInt32LE(0)).toBe(0xfd2fb528); // zstd frame magic
    expect(execFileSync('zstd', ['-lv', initrd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toMatch(
      /Zstandard Frames: 1\n/,
    );
    const boot = await bootInitramfs(initrd);
    expect(boot.output).toContain(`ZSTD-MARKER pid=1 ${createHash('sha256').update(big).digest('hex')}  /big`);
    expect(boot.exitedCleanly).toBe(true);
  });
});
