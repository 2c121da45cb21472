// `fledge-pure build` writing qcow2 disks and plugin bundles, as a user runs it, on the
// shipped examples: a qcow2 disk (asked for by `disk_format = "qcow2"` or an output
// ending in .qcow2) is what `qemu-img check` finds clean and `qemu-img compare` finds
// equal to the raw image the same build writes; a bundle (`--output NAME.tar.gz`) is a
// gzip tar that `tar -tzf` lists as exactly the artifact and manifest.json, whose
// checksum matches the artifact inside, the same bytes on every run, and nothing is
// left behind when the build fails.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A copy of an example (and the folders it points into), its fledge.toml edited. */
function example(name: string, edit: (toml: string) => string = (t) => t): string {
  const root = mkdtempSync(join(tmpdir(), 'fp-diskfmt-'));
  for (const d of [name, 'hello', 'hello-image']) cpSync(resolve('examples', d), join(root, d), { recursive: true });
  const toml = join(root, name, 'fledge.toml');
  writeFileSync(toml, edit(readFileSync(toml, 'utf8')));
  return join(root, name);
}

async function build(dir: string, args: string[] = []): Promise<void> {
  const r = await runCli(['build', '-q', ...args], { cwd: dir });
  expect([r.code, r.stderr]).toEqual([0, '']);
}

function qemuImg(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function expectQcow2Of(qcow2: string, raw: string): void {
  const check = qemuImg(['check', qcow2]);
  expect(check.out).toMatch(/No errors were found on the image/);
  expect(check.status).toBe(0);
  expect(qemuImg(['compare', '-f', 'raw', '-F', 'qcow2', raw, qcow2])).toEqual({
    status: 0,
    out: 'Images are identical.\n',
  });
}

const manifestOf = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const addToFilesystem = (line: string) => (t: string) => t.replace('[filesystem]\n', `[filesystem]\n${line}\n`);

describe('qcow2 disks from build', () => {
  it('disk_format = "qcow2": <name>.qcow2 holding the same ext4 image, rootfs.format qcow2, fs type in the kernel args', async () => {
    const dir = example('hello-ext4');
    await build(dir, ['-o', 'raw.img']);
    writeFileSync(
      join(dir, 'fledge.toml'),
      addToFilesystem('disk_format = "qcow2"')(readFileSync(join(dir, 'fledge.toml'), 'utf8')),
    );
    await build(dir);
    const qcow2 = join(dir, 'hello-ext4.qcow2');
    expectQcow2Of(qcow2, join(dir, 'raw.img'));
    const m = manifestOf(join(dir, 'hello-ext4.manifest.json'));
    expect(m.rootfs).toEqual({ url: qcow2, checksum: `sha256:${sha(qcow2)}`, format: 'qcow2' });
    expect(m.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=ext4');
    expect(JSON.parse(qemuImg(['check', '--output=json', qcow2]).out)['compressed-clusters']).toBeGreaterThan(0);
    // nothing else left in the folder (the raw image is written beside the target, then removed)
    expect(readdirSync(dir).sort()).toEqual(
      ['fledge.toml', 'hello-ext4.manifest.json', 'hello-ext4.qcow2', 'manifest.toml', 'raw.img'].sort(),
    );
    // the same bytes on a second build
    const first = sha(qcow2);
    await build(dir);
    expect(sha(qcow2)).toBe(first);
  }, 120_000);

  it('an --output ending in .qcow2 asks for qcow2; qcow2_compression = false stores no compressed cluster', async () => {
    const dir = example('hello-ext4', addToFilesystem('qcow2_compression = false'));
    await build(dir, ['-o', 'raw.img']);
    await build(dir, ['-o', 'disk.qcow2']);
    expectQcow2Of(join(dir, 'disk.qcow2'), join(dir, 'raw.img'));
    expect(
      JSON.parse(qemuImg(['check', '--output=json', join(dir, 'disk.qcow2')]).out)['compressed-clusters'] ?? 0,
    ).toBe(0);
    expect(manifestOf(join(dir, 'hello-ext4.manifest.json')).rootfs.format).toBe('qcow2');
  }, 120_000);

  it('squashfs in qcow2: the squashfs image inside, rootfstype=squashfs in the kernel args', async () => {
    const dir = example('hello-squashfs');
    await build(dir, ['-o', 'raw.squashfs']);
    await build(dir, ['-o', 'disk.qcow2']);
    expectQcow2Of(join(dir, 'disk.qcow2'), join(dir, 'raw.squashfs'));
    const m = manifestOf(join(dir, 'hello-squashfs.manifest.json'));
    expect(m.rootfs).toEqual({
      url: join(dir, 'disk.qcow2'),
      checksum: `sha256:${sha(join(dir, 'disk.qcow2'))}`,
      format: 'qcow2',
    });
    expect(m.labels['fledge.kernel_args']).toBe('root=/dev/vda rootfstype=squashfs overlay_size=1G');
  }, 120_000);

  it('xfs and btrfs images in qcow2 too: equal to their raw images', async () => {
    for (const type of ['xfs', 'btrfs']) {
      const dir = example('hello-ext4', (t) => t.replace('type = "ext4"', `type = "${type}"`));
      await build(dir, ['-o', `raw.${type}`]);
      await build(dir, ['-o', 'disk.qcow2']);
      expectQcow2Of(join(dir, 'disk.qcow2'), join(dir, `raw.${type}`));
      expect(manifestOf(join(dir, 'hello-ext4.manifest.json')).labels['fledge.kernel_args']).toBe(
        `root=/dev/vda rootfstype=${type}`,
      );
    }
  }, 180_000);

  it('an initramfs named .qcow2 is refused with one line', async () => {
    const dir = example('hello');
    const r = await runCli(['build', '-q', '-o', 'x.qcow2'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^fledge-pure: --output x\.qcow2: a qcow2 disk holds a root filesystem image .*name it \.cpio\.gz\n$/,
    );
    expect(readdirSync(dir).some((f) => f.includes('qcow2'))).toBe(false);
  });
});

describe('plugin bundles', () => {
  it('--output plugin.tar.gz: exactly the artifact and manifest.json, url the bare name, checksum matching, same bytes twice', async () => {
    const dir = example('hello-ext4');
    await build(dir, ['-o', 'plugin.tar.gz']);
    const bundle = join(dir, 'plugin.tar.gz');
    expect(readdirSync(dir).sort()).toEqual(['fledge.toml', 'manifest.toml', 'plugin.tar.gz']);
    expect(spawnSync('tar', ['-tzf', bundle], { encoding: 'utf8' }).stdout).toBe('hello-ext4.img\nmanifest.json\n');
    const out = join(dir, 'out');
    mkdirSync(out);
    expect(spawnSync('tar', ['-xzf', bundle, '-C', out]).status).toBe(0);
    const m = manifestOf(join(out, 'manifest.json'));
    expect(m.rootfs).toEqual({
      url: 'hello-ext4.img',
      checksum: `sha256:${sha(join(out, 'hello-ext4.img'))}`,
      format: 'ext4',
    });
    expect(spawnSync('e2fsck', ['-fn', join(out, 'hello-ext4.img')]).status).toBe(0);
    const first = sha(bundle);
    await build(dir, ['-o', 'plugin.tar.gz']);
    expect(sha(bundle)).toBe(first);
  }, 120_000);

  it('.tgz with disk_format = "qcow2": the qcow2 disk inside', async () => {
    const dir = example('hello-ext4', addToFilesystem('disk_format = "qcow2"'));
    await build(dir, ['-o', 'plugin.tgz']);
    expect(spawnSync('tar', ['-tzf', join(dir, 'plugin.tgz')], { encoding: 'utf8' }).stdout).toBe(
      'hello-ext4.qcow2\nmanifest.json\n',
    );
    const out = join(dir, 'out');
    mkdirSync(out);
    spawnSync('tar', ['-xzf', join(dir, 'plugin.tgz'), '-C', out]);
    const m = manifestOf(join(out, 'manifest.json'));
    expect(m.rootfs).toEqual({
      url: 'hello-ext4.qcow2',
      checksum: `sha256:${sha(join(out, 'hello-ext4.qcow2'))}`,
      format: 'qcow2',
    });
    expect(qemuImg(['check', join(out, 'hello-ext4.qcow2')]).status).toBe(0);
  }, 120_000);

  it('an initramfs bundle: the cpio.gz and manifest.json naming it', async () => {
    const dir = example('hello');
    await build(dir, ['-o', 'plugin.tgz']);
    expect(spawnSync('tar', ['-tzf', join(dir, 'plugin.tgz')], { encoding: 'utf8' }).stdout).toBe(
      'hello.cpio.gz\nmanifest.json\n',
    );
    const out = join(dir, 'out');
    mkdirSync(out);
    spawnSync('tar', ['-xzf', join(dir, 'plugin.tgz'), '-C', out]);
    expect(manifestOf(join(out, 'manifest.json')).initramfs).toMatchObject({
      url: 'hello.cpio.gz',
      checksum: `sha256:${sha(join(out, 'hello.cpio.gz'))}`,
    });
  }, 120_000);

  it('a failed bundle build leaves nothing: no manifest to put in it (exit 2), a missing image (exit 1)', async () => {
    const dir = example('hello-ext4');
    rmSync(join(dir, 'manifest.toml'));
    // the example's image has no exposed port, so no manifest can be made from it alone
    const r = await runCli(['build', '-q', '-o', 'plugin.tar.gz'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^fledge-pure: --output plugin\.tar\.gz: a bundle holds manifest\.json, and there is none to write .*add a manifest\.toml, or write a plain artifact\n$/m,
    );
    expect(readdirSync(dir).sort()).toEqual(['fledge.toml']);
    writeFileSync(join(dir, 'manifest.toml'), readFileSync(resolve('examples/hello-ext4/manifest.toml')));
    writeFileSync(
      join(dir, 'fledge.toml'),
      readFileSync(join(dir, 'fledge.toml'), 'utf8').replace('hello-image:hello', 'no-such-image:hello'),
    );
    const bad = await runCli(['build', '-q', '-o', 'plugin.tar.gz'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['fledge.toml', 'manifest.toml']);
  }, 120_000);
});
