// `fledge-pure build` with strategy oci_rootfs: the shipped examples (golden digests,
// booted as the root filesystem) and the hard-case OCI image, whose image the kernel
// mounts and lists exactly as the tree the build assembled.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFledgeConfig } from '../src/config/fledge.js';
import { ociRootfsTree } from '../src/pipeline/oci-rootfs.js';
import { CACHE, project, runCli } from './helpers/cli.js';
import { bootAsRoot, bootDisk, diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { golden, manifestSha } from './helpers/golden.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Copies an example (and the folders it points into) and builds it there. */
async function buildExample(name: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'fp-example-'));
  for (const d of [name, 'hello', 'hello-image']) cpSync(resolve('examples', d), join(root, d), { recursive: true });
  const r = await runCli(['build', '--quiet'], { cwd: join(root, name) });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return join(root, name);
}

describe('oci_rootfs builds', () => {
  it('examples/hello-ext4: golden bytes, e2fsck clean, boots as root into the agent', async () => {
    const dir = await buildExample('hello-ext4');
    expect([sha(join(dir, 'hello-ext4.img')), manifestSha(join(dir, 'hello-ext4.manifest.json'))]).toEqual([
      golden['hello-ext4.img'],
      golden['hello-ext4.manifest.json'],
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'hello-ext4.manifest.json'), 'utf8'));
    expect(manifest.rootfs).toEqual({
      url: join(dir, 'hello-ext4.img'),
      checksum: `sha256:${golden['hello-ext4.img']}`,
      format: 'ext4',
    });
    expect(manifest.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=ext4');
    expect(spawnSync('e2fsck', ['-fn', join(dir, 'hello-ext4.img')]).status).toBe(0);
    // the stand-in agent reads /etc/motd from the image, mounted from /dev/vda as ext4
    const out = await bootAsRoot(join(dir, 'hello-ext4.img'), 'ext4', '/bin/kestrel', { until: /mounts:\n/ });
    expect(out).toMatch(/hello from fledge-pure: kestrel stand-in running as PID 1\nhello from an OCI image\n/);
  }, 180_000);

  it('examples/hello-xfs: golden bytes, xfs_repair clean, boots as root into the agent', async () => {
    const dir = await buildExample('hello-xfs');
    const img = join(dir, 'hello-xfs.xfs');
    expect([sha(img), manifestSha(join(dir, 'hello-xfs.manifest.json'))]).toEqual([
      golden['hello-xfs.xfs'],
      golden['hello-xfs.manifest.json'],
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'hello-xfs.manifest.json'), 'utf8'));
    expect(manifest.rootfs).toEqual({ url: img, checksum: `sha256:${golden['hello-xfs.xfs']}`, format: 'xfs' });
    expect(manifest.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=xfs');
    expect(spawnSync('xfs_repair', ['-n', '-f', img]).status).toBe(0);
    const out = await bootAsRoot(img, 'xfs', '/bin/kestrel', { until: /mounts:\n/ });
    expect(out).toMatch(/hello from fledge-pure: kestrel stand-in running as PID 1\nhello from an OCI image\n/);
  }, 180_000);

  it('examples/hello-btrfs: golden bytes, btrfs check clean, boots as root into the agent', async () => {
    const dir = await buildExample('hello-btrfs');
    const img = join(dir, 'hello-btrfs.btrfs');
    expect([sha(img), manifestSha(join(dir, 'hello-btrfs.manifest.json'))]).toEqual([
      golden['hello-btrfs.btrfs'],
      golden['hello-btrfs.manifest.json'],
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'hello-btrfs.manifest.json'), 'utf8'));
    expect(manifest.rootfs).toEqual({
      url: join(dir, 'hello-btrfs.btrfs'),
      checksum: `sha256:${golden['hello-btrfs.btrfs']}`,
      format: 'btrfs',
    });
    expect(manifest.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=btrfs');
    const check = spawnSync('btrfs', ['check', '--readonly', '--check-data-csum', img], { encoding: 'utf8' });
    expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.stringMatching(/no error found/)]);
    const out = await bootAsRoot(img, 'btrfs', '/bin/kestrel', { until: /mounts:\n/ });
    expect(out).toMatch(/hello from fledge-pure: kestrel stand-in running as PID 1\nhello from an OCI image\n/);
  }, 180_000);

  it('examples/hello-squashfs: golden bytes, unsquashfs reads it, boots as root into the agent', async () => {
    const dir = await buildExample('hello-squashfs');
    const img = join(dir, 'hello-squashfs.squashfs');
    expect([sha(img), manifestSha(join(dir, 'hello-squashfs.manifest.json'))]).toEqual([
      golden['hello-squashfs.squashfs'],
      golden['hello-squashfs.manifest.json'],
    ]);
    const manifest = JSON.parse(readFileSync(join(dir, 'hello-squashfs.manifest.json'), 'utf8'));
    expect(manifest.rootfs).toEqual({
      url: join(dir, 'hello-squashfs.squashfs'),
      checksum: `sha256:${golden['hello-squashfs.squashfs']}`,
      format: 'squashfs',
    });
    expect(manifest.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=squashfs overlay_size=1G');
    expect(spawnSync('unsquashfs', ['-lln', img], { encoding: 'utf8' }).stdout).toMatch(
      /-rwxr-xr-x 0\/0 +202 1970-01-01 00:00 squashfs-root\/bin\/kestrel/,
    );
    const out = await bootAsRoot(img, 'squashfs', '/bin/kestrel', { until: /mounts:\n/ });
    expect(out).toMatch(/hello from fledge-pure: kestrel stand-in running as PID 1\nhello from an OCI image\n/);

    // compression = "gzip": the kernel's zlib squashfs reader boots it too
    writeFileSync(
      join(dir, 'fledge.toml'),
      readFileSync(join(dir, 'fledge.toml'), 'utf8').replace(/^type = .*$/m, 'type = "squashfs"\ncompression = "gzip"'),
    );
    const r = await runCli(['build', '-q', '-o', 'gzip.squashfs'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(readFileSync(join(dir, 'gzip.squashfs')).readUInt16LE(20)).toBe(1);
    const gz = await bootAsRoot(join(dir, 'gzip.squashfs'), 'squashfs', '/bin/kestrel', { until: /mounts:\n/ });
    expect(gz).toMatch(/hello from fledge-pure: kestrel stand-in running as PID 1\nhello from an OCI image\n/);
  }, 180_000);

  it('the hard-case image to ext4: what the kernel lists is the tree the build assembled', async () => {
    const dir = project({
      'fledge.toml':
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n' +
        'path = "./kestrel"\n\n[source]\nimage = "oci:./img:hard"\n\n[filesystem]\ntype = "ext4"\n\n[mappings]\n"./busybox" = "/bin/sh"\n',
      'kestrel*': '#!/bin/sh\necho agent\n',
      busybox: readFileSync('/bin/busybox'),
    });
    writeHardLayout(join(dir, 'img'), hardLayers(), 'gzip', 'hard');
    const r = await runCli(['build', '-q', '-o', 'root.img'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const check = spawnSync('e2fsck', ['-fn', join(dir, 'root.img')], { encoding: 'utf8' });
    expect(check.stdout).toMatch(/Pass 5/);
    expect(check.status).toBe(0);

    process.env.XDG_CACHE_HOME = CACHE;
    const config = loadFledgeConfig(join(dir, 'fledge.toml'));
    const epoch = { sec: 0, nsec: 0 };
    const tree = await ociRootfsTree({ config, image: config.source.image!, epoch, log: () => {}, cwd: dir });
    tree.mkdirp('lost+found', { mode: 0o700, mtime: epoch });
    const boot = await bootDisk({
      image: join(dir, 'root.img'),
      fstype: 'ext4',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK'`,
    });
    expect(boot.report).toContain('CHROOT-OK');
    expect(diffListings(treeListing(tree), parseListing(boot.report))).toEqual([]);
  }, 240_000);

  it('the hard-case image to xfs: xfs_repair clean, what the kernel lists is the tree the build assembled', async () => {
    const dir = project({
      'fledge.toml':
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n' +
        'path = "./kestrel"\n\n[source]\nimage = "oci:./img:hard"\n\n[filesystem]\ntype = "xfs"\n\n[mappings]\n"./busybox" = "/bin/sh"\n',
      'kestrel*': '#!/bin/sh\necho agent\n',
      busybox: readFileSync('/bin/busybox'),
    });
    writeHardLayout(join(dir, 'img'), hardLayers(), 'gzip', 'hard');
    const r = await runCli(['build', '-q', '-o', 'root.xfs'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const img = join(dir, 'root.xfs');
    const check = spawnSync('xfs_repair', ['-n', '-f', img], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toMatch(/Phase 7/);
    expect(check.status).toBe(0);

    process.env.XDG_CACHE_HOME = CACHE;
    const config = loadFledgeConfig(join(dir, 'fledge.toml'));
    const tree = await ociRootfsTree({
      config,
      image: config.source.image!,
      epoch: { sec: 0, nsec: 0 },
      log: () => {},
      cwd: dir,
    });
    const boot = await bootDisk({
      image: img,
      fstype: 'xfs',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK'`,
    });
    expect(boot.report).toContain('CHROOT-OK');
    expect(diffListings(treeListing(tree), parseListing(boot.report))).toEqual([]);
  }, 240_000);

  it('the hard-case image to btrfs: btrfs check clean, and the kernel lists the tree the build assembled', async () => {
    const dir = project({
      'fledge.toml':
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n' +
        'path = "./kestrel"\n\n[source]\nimage = "oci:./img:hard"\n\n[filesystem]\ntype = "btrfs"\n\n[mappings]\n"./busybox" = "/bin/sh"\n',
      'kestrel*': '#!/bin/sh\necho agent\n',
      busybox: readFileSync('/bin/busybox'),
    });
    writeHardLayout(join(dir, 'img'), hardLayers(), 'gzip', 'hard');
    const r = await runCli(['build', '-q', '-o', 'root.btrfs'], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const check = spawnSync('btrfs', ['check', '--readonly', '--check-data-csum', join(dir, 'root.btrfs')], {
      encoding: 'utf8',
    });
    expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.stringMatching(/no error found/)]);

    process.env.XDG_CACHE_HOME = CACHE;
    const config = loadFledgeConfig(join(dir, 'fledge.toml'));
    const epoch = { sec: 0, nsec: 0 };
    const tree = await ociRootfsTree({ config, image: config.source.image!, epoch, log: () => {}, cwd: dir });
    const expected = treeListing(tree);
    for (const e of expected.values()) if (e.mode.startsWith('4')) e.nlink = 1; // btrfs: one link per directory
    const boot = await bootDisk({
      image: join(dir, 'root.btrfs'),
      fstype: 'btrfs',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK'`,
    });
    expect(boot.report).toContain('CHROOT-OK');
    expect(diffListings(expected, parseListing(boot.report))).toEqual([]);
  }, 240_000);
});
