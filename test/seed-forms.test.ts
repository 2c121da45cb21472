// The seeds' other forms: seed 002's single-file fledge.toml ([plugin], [plugin.runtime],
// [plugin.manifest]) mapped onto the same config and manifest, and seed 002's exact command
// `fledge build --docker-archive image.tar` with an oci_rootfs fledge.toml that has no
// [source] image (or a [source] dockerfile, which the archive beats).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFledgeConfig, formatProblem, loadFledgeConfig } from '../src/config/fledge.js';
import { project, runCli } from './helpers/cli.js';
import { type FileServer, serveFiles } from './helpers/http.js';
import { volantProblems } from './helpers/volant.js';
import { skopeoEnv } from './helpers/skopeo.js';

const SEED_002 = `[plugin]
name = "nginx-alpine"
version = "1.0.0"
description = "NGINX web server on Alpine Linux"

[plugin.runtime]
type = "oci"
source = "Dockerfile"

[plugin.manifest]
workload.type = "http"
workload.port = 80

resources.vcpu = 1
resources.memory_mb = 256
`;

/** seed 002's WordPress form: no [plugin.runtime] at all. */
const SEED_002_WORDPRESS = `[plugin]
name = "wordpress"
version = "6.4.0"

[plugin.manifest]
workload.type = "http"
workload.port = 80
resources.vcpu = 2
resources.memory_mb = 1024
`;

function problems(text: string): string[] {
  const dir = project({ 'fledge.toml': text });
  const file = join(dir, 'fledge.toml');
  return checkFledgeConfig(file).problems.map((p) => formatProblem(p).replace(file, 'F'));
}

/** examples/hello-image saved as a docker-archive (what `docker save` / `podman save` write). */
function dockerArchive(dir: string): string {
  const tar = join(dir, 'image.tar');
  execFileSync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--quiet',
      `oci:${resolve('examples/hello-image')}:hello`,
      `docker-archive:${tar}:hello:v1`,
    ],
    { env: skopeoEnv() },
  );
  return tar;
}

let github: FileServer;
let downloads: FileServer;
beforeAll(async () => {
  downloads = await serveFiles({ '/kestrel': readFileSync(resolve('examples/hello/kestrel')) });
  const release = {
    tag_name: 'v0.7.0',
    assets: [{ name: 'kestrel', browser_download_url: `${downloads.url}/kestrel` }],
  };
  github = await serveFiles({ '/repos/volantvm/volant/releases/latest': Buffer.from(JSON.stringify(release)) });
});
afterAll(async () => {
  await github.close();
  await downloads.close();
});

describe("seed 002's single-file fledge.toml", () => {
  it('maps [plugin], [plugin.runtime] and [plugin.manifest] onto the config and the manifest', () => {
    const dir = project({ 'fledge.toml': SEED_002 });
    const c = loadFledgeConfig(join(dir, 'fledge.toml'));
    expect(c).toMatchObject({
      strategy: 'oci_rootfs',
      agent: { source_strategy: 'release', version: 'latest' },
      source: { dockerfile: join(dir, 'Dockerfile'), context: dir },
      filesystem: { type: 'ext4', size_buffer_mb: 0, qcow2_compression: true },
      plugin: { name: 'nginx-alpine', version: '1.0.0', description: 'NGINX web server on Alpine Linux' },
    });
    expect(c.manifest).toMatchObject({
      name: 'nginx-alpine',
      version: '1.0.0',
      runtime: 'nginx-alpine',
      resources: { cpu_cores: 1, memory_mb: 256 },
      workload: { type: 'http', base_url: 'http://127.0.0.1:80', entrypoint: [] },
    });
    expect(formatProblem(c.manifest!.missingEntrypoint!)).toMatch(
      /fledge.toml:11: plugin.manifest.workload.entrypoint: required but missing; add workload.entrypoint/,
    );
    const wp = loadFledgeConfig(join(project({ 'fledge.toml': SEED_002_WORDPRESS }), 'fledge.toml'));
    expect([
      wp.source.dockerfile?.endsWith('/Dockerfile'),
      wp.manifest?.resources,
      wp.filesystem?.qcow2_compression,
    ]).toEqual([true, { cpu_cores: 2, memory_mb: 1024 }, true]);
    const image = loadFledgeConfig(
      join(
        project({
          'fledge.toml': SEED_002.replace(
            'source = "Dockerfile"',
            'source = "nginx:alpine"\nqcow2_compression = false',
          ),
        }),
        'fledge.toml',
      ),
    );
    expect([image.source.image, image.source.dockerfile, image.filesystem?.qcow2_compression]).toEqual([
      'nginx:alpine',
      undefined,
      false,
    ]);
  });

  it('validates with file:line errors, and mixing the two forms is an error', () => {
    expect(
      problems(
        SEED_002.replace('type = "oci"', 'type = "docker"')
          .replace('workload.port = 80', 'workload.port = 0\nworkload.typo = 1')
          .replace('vcpu = 1', 'vcpu = "1"') + 'qcow2_compression = "yes"\n',
      ),
    ).toEqual([
      'F:7: plugin.runtime.type: must be one of "oci" (got "docker"); e.g. type = "oci"',
      'F:12: plugin.manifest.workload.port: must be between 1 and 65535 (got 0); e.g. workload.port = 80',
      'F:13: plugin.manifest.workload.typo: unknown key in [plugin.manifest.workload]; did you mean type?',
      'F:15: plugin.manifest.resources.vcpu: must be an integer, not a string ("1"); write a whole number without quotes, e.g. resources.vcpu = 2',
      'F:17: plugin.manifest.qcow2_compression: unknown key in [plugin.manifest]; valid keys are: workload, resources',
    ]);
    expect(problems('[plugin]\nversion = 1\n')).toEqual([
      'F:1: plugin.name: required but missing; add name = "myapp" under [plugin]',
      'F:2: plugin.version: must be a string, not an integer (1); put the value in double quotes',
    ]);
    expect(problems(`version = "1"\nstrategy = "oci_rootfs"\n\n${SEED_002}\n[filesystem]\ntype = "ext4"\n`)).toEqual([
      "F:1: version: mixes the two fledge.toml forms: seed 002's [plugin] form cannot stand beside " +
        'version/strategy/[agent]/[source]/[filesystem]/[init]/[mappings]; write the file in one form',
      "F:2: strategy: mixes the two fledge.toml forms: seed 002's [plugin] form cannot stand beside " +
        'version/strategy/[agent]/[source]/[filesystem]/[init]/[mappings]; write the file in one form',
      "F:20: filesystem: mixes the two fledge.toml forms: seed 002's [plugin] form cannot stand beside " +
        'version/strategy/[agent]/[source]/[filesystem]/[init]/[mappings]; write the file in one form',
    ]);
  });

  it(
    "builds from seed 002's `--docker-archive image.tar`: a manifest Volant takes, entrypoint from the " +
      'image; its default output is a bundle of a qcow2 disk; source = "Dockerfile" is one line',
    async () => {
      const dir = project({ 'fledge.toml': SEED_002 });
      const tar = dockerArchive(dir);
      const env = { FLEDGE_PURE_GITHUB_API: github.url };
      // the default output: seed 002's bundle of a qcow2 ext4 disk and its manifest.json
      const bundle = await runCli(['build', '-q', '--docker-archive', tar], { cwd: dir, env });
      expect([bundle.code, bundle.stderr]).toEqual([0, '']);
      expect(execFileSync('tar', ['-tzf', join(dir, 'nginx-alpine.tar.gz')]).toString()).toBe(
        'manifest.json\nnginx-alpine.qcow2\n',
      );
      const inside = JSON.parse(
        execFileSync('tar', ['-xzOf', join(dir, 'nginx-alpine.tar.gz'), 'manifest.json']).toString(),
      );
      expect(inside.rootfs).toMatchObject({ url: 'nginx-alpine.qcow2', format: 'qcow2' });
      for (const line of ['v0.6.5', 'newer'] as const)
        expect(volantProblems(inside, line).filter((p) => !/url/.test(p))).toEqual([]); // the bare url is the bundle's rule
      const docker = await runCli(['build', '-o', 'nginx-alpine.img'], { cwd: dir, env });
      expect([docker.code, docker.stderr.split('\n').slice(-2).join('\n')]).toEqual([
        2,
        // source = "Dockerfile" builds ./Dockerfile, which this project does not have
        `fledge-pure: ${join(dir, 'Dockerfile')}: no such Dockerfile; give the path of an existing file\n`,
      ]);
      const r = await runCli(['build', '-q', '--docker-archive', tar, '-o', 'nginx-alpine.img'], { cwd: dir, env });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(execFileSync('e2fsck', ['-fn', join(dir, 'nginx-alpine.img')]).toString()).toMatch(/Pass 5/);
      const m = JSON.parse(readFileSync(join(dir, 'nginx-alpine.manifest.json'), 'utf8'));
      expect(m).toMatchObject({
        name: 'nginx-alpine',
        version: '1.0.0',
        runtime: 'nginx-alpine',
        rootfs: { url: join(dir, 'nginx-alpine.img'), format: 'ext4' },
        resources: { cpu_cores: 1, memory_mb: 256 },
        workload: { type: 'http', base_url: 'http://127.0.0.1:80', entrypoint: ['/bin/sh'] },
      });
      expect(volantProblems(m, 'newer')).toEqual([]);
      // manifest.toml beside a [plugin.manifest]: two manifests, one line
      writeFileSync(join(dir, 'manifest.toml'), 'name = "x"\n');
      const both = await runCli(['build', '-q', '--docker-archive', tar, '-o', 'x.img'], { cwd: dir, env });
      expect([both.code, both.stderr]).toEqual([
        2,
        `fledge-pure: ${join(dir, 'manifest.toml')}: ${join(dir, 'fledge.toml')} defines the manifest ` +
          `already ([plugin.manifest]); remove one of them (or move manifest.toml away)\n`,
      ]);
    },
    120_000,
  );
});

describe('--docker-archive with an oci_rootfs fledge.toml', () => {
  it('needs no [source] image, and beats a [source] dockerfile', async () => {
    const base =
      'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n[filesystem]\ntype = "ext4"\n';
    const dir = project({ 'fledge.toml': base, 'kestrel*': '#!/bin/sh\necho agent\n' });
    const tar = dockerArchive(dir);
    const r = await runCli(['build', '-q', '--docker-archive', tar], { cwd: dir });
    expect([r.code, r.stderr]).toEqual([0, '']);
    const first = readFileSync(join(dir, 'image.img'));
    const without = await runCli(['build', '-q'], { cwd: dir });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(
      /fledge.toml: source: required but missing; add source.image = "nginx:alpine" or source.dockerfile = "\.\/Dockerfile" under \[source\] \(oci_rootfs needs an image\), or pass --docker-archive image.tar\n$/,
    );

    writeFileSync(
      join(dir, 'fledge.toml'),
      base.replace('[filesystem]', '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]'),
    );
    const out = mkdtempSync(join(tmpdir(), 'fp-out-'));
    const d = await runCli(['build', '-q', '--docker-archive', tar, '-o', join(out, 'hello.img')], { cwd: dir });
    expect([d.code, d.stderr]).toEqual([0, '']);
    expect(readFileSync(join(out, 'hello.img')).equals(first)).toBe(true);
    expect(readdirSync(out)).toEqual(['hello.img']);
  }, 120_000);
});

describe('keys of the other filesystem type', () => {
  it('build and validate print a warning line each, with file:line, and go on', async () => {
    const dir = project({
      'fledge.toml':
        `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
        `path = "${resolve('examples/hello/kestrel')}"\n\n[source]\n` +
        `image = "oci:${resolve('examples/hello-image')}:hello"\n\n[filesystem]\ntype = "squashfs"\nsize_buffer_mb = 64\n`,
    });
    const line =
      'warning: fledge.toml:13: filesystem.size_buffer_mb: is only read for ext4/xfs/btrfs images; a ' +
      'squashfs image is sized to its content and the VM writes into a tmpfs overlay of overlay_size; remove it\n';
    const v = await runCli(['validate'], { cwd: dir });
    expect([v.code, v.stdout, v.stderr]).toEqual([0, 'ok\n', line]);
    const b = await runCli(['build'], { cwd: dir });
    expect(b.code).toBe(0);
    expect(b.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      line.trimEnd(),
      expect.stringMatching(/^warning: no manifest.toml, and the image lacks/),
    ]);
  }, 60_000);
});
