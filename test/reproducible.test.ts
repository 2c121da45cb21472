// Same bytes everywhere: the examples' artifacts equal golden/ under Node 20, 22 and 24
// (the Node 22 and 24 that .ci/run installs, test/helpers/node-versions.ts),
// with a cold and a warm blob cache, and the same image gives the same rootfs whether it
// comes from a registry, a docker-archive or an OCI layout. SOURCE_DATE_EPOCH sets every
// added time and clamps newer ones.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.js';
import { golden, manifestSha } from './helpers/golden.js';
import { missingNodes, nodeBinary, OTHER_NODES } from './helpers/node-versions.js';
import { push, type Registry, startRegistry } from './helpers/registry.js';
import { skopeoEnv } from './helpers/skopeo.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
/** Each example and the artifacts it writes. */
const EXAMPLES: Record<string, string[]> = {
  hello: ['hello.cpio.gz', 'hello.manifest.json'],
  'hello-ext4': ['hello-ext4.img', 'hello-ext4.manifest.json'],
  'hello-btrfs': ['hello-btrfs.btrfs', 'hello-btrfs.manifest.json'],
  'hello-squashfs': ['hello-squashfs.squashfs', 'hello-squashfs.manifest.json'],
  'hello-xfs': ['hello-xfs.xfs', 'hello-xfs.manifest.json'],
};

/** A copy of examples/ in a fresh folder. */
function examples(): string {
  const root = mkdtempSync(join(tmpdir(), 'fp-repro-'));
  cpSync(resolve('examples'), root, {
    recursive: true,
    filter: (src) => !/\.(img|xfs|squashfs|cpio\.gz|cpio\.zst|manifest\.json)$/.test(src),
  });
  return root;
}

function digests(root: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(EXAMPLES).flatMap(([dir, files]) =>
      files.map((f) => [f, f.endsWith('.manifest.json') ? manifestSha(join(root, dir, f)) : sha(join(root, dir, f))]),
    ),
  );
}

const expected = () =>
  Object.fromEntries(
    Object.values(EXAMPLES)
      .flat()
      .map((f) => [f, golden[f]]),
  );

describe('reproducible artifacts', () => {
  for (const version of OTHER_NODES) {
    it.skipIf(missingNodes().includes(version))(
      `Node ${version} writes the golden bytes, under another TZ, LANG and umask`,
      () => {
        const root = examples();
        const cache = mkdtempSync(join(tmpdir(), 'fp-cache-'));
        for (const dir of Object.keys(EXAMPLES)) {
          const env = {
            ...process.env,
            XDG_CACHE_HOME: cache,
            TZ: 'Pacific/Chatham',
            LANG: 'tr_TR.UTF-8',
            LC_ALL: 'tr_TR.UTF-8',
          };
          const r = spawnSync('sh', ['-c', `umask 077 && exec "${nodeBinary(version)}" "${CLI}" build -q`], {
            cwd: join(root, dir),
            env,
            encoding: 'utf8',
          });
          expect(r.stderr).toBe('');
          expect(r.status).toBe(0);
        }
        const v = spawnSync(nodeBinary(version), ['--version'], { encoding: 'utf8' }).stdout.trim();
        expect(v).toMatch(new RegExp(`^v${version}\\.`));
        expect(digests(root)).toEqual(expected());
      },
      120_000,
    );
  }

  it('a cold and a warm blob cache give the golden bytes', async () => {
    const root = examples();
    const cache = mkdtempSync(join(tmpdir(), 'fp-cache-'));
    for (const round of ['cold', 'warm']) {
      for (const dir of Object.keys(EXAMPLES)) {
        const r = await runCli(['build', '-q'], { cwd: join(root, dir), env: { XDG_CACHE_HOME: cache } });
        expect([round, r.code, r.stderr]).toEqual([round, 0, '']);
      }
      expect(digests(root)).toEqual(expected());
    }
  }, 120_000);
});

describe('one image, three transports, one rootfs', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(() => registry?.stop());

  it('registry, docker-archive and OCI layout give the same ext4 and squashfs bytes', async () => {
    const root = examples();
    const layout = join(root, 'hello-image');
    await push(layout, 'hello', `${registry.host}/examples/hello:v1`);
    execFileSync(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--quiet',
        `oci:${layout}:hello`,
        `docker-archive:${join(root, 'hello.tar')}:hello:v1`,
      ],
      { env: skopeoEnv() },
    );
    for (const [example, artifact] of [
      ['hello-ext4', 'hello-ext4.img'],
      ['hello-squashfs', 'hello-squashfs.squashfs'],
    ]) {
      const dir = join(root, example);
      const config = readFileSync(join(dir, 'fledge.toml'), 'utf8');
      const built: string[] = [];
      for (const image of [
        `oci:../hello-image:hello`,
        `docker://${registry.host}/examples/hello:v1`,
        `docker-archive:../hello.tar`,
      ]) {
        writeFileSync(join(dir, 'fledge.toml'), config.replace(/^image = .*$/m, `image = "${image}"`));
        const out = `out-${built.length}`;
        const r = await runCli(['build', '-q', '-o', out], { cwd: dir });
        expect([image, r.code, r.stderr]).toEqual([image, 0, '']);
        built.push(sha(join(dir, out)));
      }
      expect(built).toEqual([golden[artifact], golden[artifact], golden[artifact]]);
    }
  }, 120_000);
});

describe('SOURCE_DATE_EPOCH', () => {
  const debugfs = (img: string, cmd: string) =>
    execFileSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const mtime = (img: string, path: string) =>
    Number(/^ mtime: (0x[0-9a-f]+):/m.exec(debugfs(img, `stat ${path}`))![1]);

  it('sets the added files and the filesystem time, and clamps newer image times', async () => {
    const root = examples();
    const dir = join(root, 'hello-ext4');
    // the image's files are from 1704067200 (2024-01-01)
    const early = await runCli(['build', '-q', '-o', 'early.img'], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: '1000000000' },
    });
    expect([early.code, early.stderr]).toEqual([0, '']);
    const img = join(dir, 'early.img');
    expect(mtime(img, '/etc/motd')).toBe(1000000000);
    expect(mtime(img, '/bin/kestrel')).toBe(1000000000);
    expect(mtime(img, '/etc/fsify-entrypoint')).toBe(1000000000);
    expect(execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toMatch(
      /Filesystem created:\s+Sun Sep  9 01:46:40 2001/,
    );

    const late = await runCli(['build', '-q', '-o', 'late.img'], {
      cwd: dir,
      env: { SOURCE_DATE_EPOCH: '2000000000' },
    });
    expect([late.code, late.stderr]).toEqual([0, '']);
    expect(mtime(join(dir, 'late.img'), '/etc/motd')).toBe(1704067200);
    expect(mtime(join(dir, 'late.img'), '/bin/kestrel')).toBe(2000000000);

    const bad = await runCli(['build', '-q', '-o', 'bad.img'], { cwd: dir, env: { SOURCE_DATE_EPOCH: 'yesterday' } });
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'fledge-pure: SOURCE_DATE_EPOCH=yesterday is not a whole number of seconds; unset it or set e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)\n',
    ]);
  }, 120_000);
});
