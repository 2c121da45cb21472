// manifest.json as Volant takes it: the rules Volant applies (test/helpers/volant.ts, each
// with its file and commit) hold for what the build writes, and the consumer path that can
// run here — volar's url resolution, then the launcher's fetch and sha256 check — gets the
// artifact from the written url, as an absolute path and over loopback HTTP (--url-base).
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA } from '../src/config/manifest.js';
import { fsTypesVolantReads } from '../src/config/volant-url.js';
import { runCli } from './helpers/cli.js';
import { serveFiles } from './helpers/http.js';
import {
  droppedNetworkKeys,
  FSTYPE_FROM_URL,
  fstypeFromUrl,
  launcherFetch,
  type ManifestJson,
  SOURCES,
  volantProblems,
  volarInstallUrl,
} from './helpers/volant.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const readJson = (p: string): ManifestJson & Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8'));

/** A copy of examples/ in a fresh folder (the examples point at each other). */
function examples(): string {
  const root = mkdtempSync(join(tmpdir(), 'fp-volant-'));
  cpSync(resolve('examples'), root, {
    recursive: true,
    filter: (src) => !/\.(img|squashfs|cpio\.gz|manifest\.json)$/.test(src),
  });
  return root;
}

/** Writes the hello image again with its config's `config` object replaced: an OCI layout at `dir`, tag "hello". */
function imageVariant(root: string, dir: string, config: Record<string, unknown>): void {
  const src = join(root, 'hello-image');
  cpSync(src, dir, { recursive: true });
  const index = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8'));
  const blob = (d: string) => join(dir, 'blobs', d.replace(':', '/'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const cfg = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
  const put = (data: Buffer) => {
    const digest = `sha256:${sha(data)}`;
    writeFileSync(blob(digest), data);
    return { digest, size: data.length };
  };
  manifest.config = { ...manifest.config, ...put(Buffer.from(JSON.stringify({ ...cfg, config }))) };
  index.manifests[0] = { ...index.manifests[0], ...put(Buffer.from(JSON.stringify(manifest))) };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}

async function build(dir: string, args: string[] = []): Promise<{ stderr: string; stdout: string }> {
  const r = await runCli(['build', ...args], { cwd: dir });
  expect([r.code, r.stderr.split('\n').filter((l) => /^fledge-pure:/.test(l))]).toEqual([0, []]);
  return r;
}

describe('Volant takes the manifest.json as built', () => {
  it('the examples: every rule of newer Volant holds; v0.6.5 refuses only the rootfs formats it predates', async () => {
    const root = examples();
    const expected: Record<string, string[]> = {
      hello: [],
      'hello-ext4': ['rootfs format "ext4" not supported'],
      'hello-squashfs': ['rootfs format "squashfs" not supported'],
    };
    for (const [name, v065] of Object.entries(expected)) {
      const dir = join(root, name);
      await build(dir, ['-q']);
      const m = readJson(join(dir, `${name}.manifest.json`));
      expect(m.$schema).toBe(MANIFEST_SCHEMA);
      expect([name, volantProblems(m, 'newer')]).toEqual([name, []]);
      expect([name, volantProblems(m, 'v0.6.5')]).toEqual([name, v065]);
      expect(droppedNetworkKeys(m, 'newer')).toEqual([]);
    }
  }, 120_000);

  it(
    `the url is the artifact's absolute path: volar install from any folder keeps it, the launcher ` +
      `fetches it and the checksum matches (${SOURCES.volar}; ${SOURCES.launcher})`,
    async () => {
      const root = examples();
      const dir = join(root, 'hello-ext4');
      await build(dir, ['-q']);
      const manifestPath = join(dir, 'hello-ext4.manifest.json');
      const m = readJson(manifestPath);
      expect(m.rootfs!.url).toBe(join(dir, 'hello-ext4.img'));
      // `volar plugins install hello-ext4.manifest.json` run elsewhere: a relative manifest path
      const fromElsewhere = relative(tmpdir(), manifestPath);
      const url = volarInstallUrl(m.rootfs!.url!, fromElsewhere);
      expect(url).toBe(m.rootfs!.url);
      const bytes = await launcherFetch(url, m.rootfs!.checksum!);
      expect(sha(bytes)).toBe(sha(readFileSync(join(dir, 'hello-ext4.img'))));
      // what the old relative url did: volar leaves it relative to where it ran, volantd refuses it
      expect(volarInstallUrl('hello-ext4.img', fromElsewhere)).not.toMatch(/^\//);
      expect(volantProblems({ ...m, rootfs: { ...m.rootfs, url: 'hello-ext4.img' } }, 'newer')).toEqual([
        'rootfs url must be http(s), file://, or absolute path',
      ]);
      // file:// passes the validator but the launcher opens it as a path and fails
      expect(volantProblems({ ...m, rootfs: { ...m.rootfs, url: `file://${url}` } }, 'newer')).toEqual([]);
      await expect(launcherFetch(`file://${url}`, m.rootfs!.checksum!)).rejects.toThrow(/ENOENT/);
    },
    120_000,
  );

  it('--url-base: the launcher gets the artifact over loopback HTTP and the checksum matches', async () => {
    const root = examples();
    const dir = join(root, 'hello');
    const server = await serveFiles({ '/plugins/hello.cpio.gz': join(dir, 'hello.cpio.gz') });
    try {
      await build(dir, ['-q', '--url-base', `${server.url}/plugins`]);
      const m = readJson(join(dir, 'hello.manifest.json'));
      expect(m.initramfs!.url).toBe(`${server.url}/plugins/hello.cpio.gz`);
      expect(volantProblems(m, 'v0.6.5')).toEqual([]);
      const bytes = await launcherFetch(
        volarInstallUrl(m.initramfs!.url!, 'hello.manifest.json'),
        m.initramfs!.checksum!,
      );
      expect(sha(bytes)).toBe(sha(readFileSync(join(dir, 'hello.cpio.gz'))));
      expect(server.requests).toEqual(['GET /plugins/hello.cpio.gz']);
    } finally {
      await server.close();
    }
    const bad = await runCli(['build', '-q', '--url-base', 'file:///srv/'], { cwd: dir });
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'fledge-pure: --url-base "file:///srv/": must be an http:// or https:// URL (Volant\'s launcher ' +
        'opens anything else as a local path); leave it out to name the artifact by its absolute path\n',
    ]);
  }, 120_000);

  it(
    `the rootfs type newer Volant boots with follows the url's extension (${SOURCES.orchestrator}; ` +
      `${SOURCES.fsdetect}); --output names it would misread get a warning`,
    async () => {
      const facts: [string, string[]][] = [
        ['x.img', ['ext4', 'ext4']],
        ['x.ext4', ['ext4', 'ext4']],
        ['x.squashfs', ['squashfs', 'squashfs']],
        ['x.raw', ['ext4', 'squashfs']],
        ['X.IMG', ['ext4', 'ext4']],
        ['x.Squashfs', ['ext4', 'squashfs']],
        ['x.qcow2', ['ext4', 'qcow2']],
      ];
      for (const [url, types] of facts) {
        expect([url, FSTYPE_FROM_URL.map((rule) => fstypeFromUrl(url, rule))]).toEqual([url, types]);
        expect([url, fsTypesVolantReads(url)]).toEqual([url, types]);
      }
      const root = examples();
      const ext4 = join(root, 'hello-ext4');
      const warn = await build(ext4, ['-o', 'root.raw']);
      expect(warn.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
        "warning: --output root.raw: newer Volant picks the root filesystem type from the url's extension " +
          'and would boot this ext4 image as squashfs; end the name in .img or .ext4',
      ]);
      expect((await build(ext4, ['-o', 'root.ext4'])).stderr).not.toContain('warning:');
      const sq = await build(join(root, 'hello-squashfs'), ['-o', 'root.img']);
      expect(sq.stderr).toContain(
        "warning: --output root.img: newer Volant picks the root filesystem type from the url's extension " +
          'and would boot this squashfs image as ext4; end the name in .squashfs\n',
      );
    },
    120_000,
  );
});

describe('what the image says fills manifest.json', () => {
  it('base_url from the one exposed tcp port; network.expose written, as newer Volant reads it', async () => {
    const root = examples();
    const dir = join(root, 'hello-ext4');
    imageVariant(root, join(root, 'web-image'), { Cmd: ['/bin/sh'], ExposedPorts: { '80/tcp': {}, '53/udp': {} } });
    writeFileSync(
      join(dir, 'fledge.toml'),
      readFileSync(join(dir, 'fledge.toml'), 'utf8').replace(/^image = .*$/m, 'image = "oci:../web-image:hello"'),
    );
    const toml = readFileSync(join(dir, 'manifest.toml'), 'utf8');
    writeFileSync(join(dir, 'manifest.toml'), toml.replace(/^base_url = .*\n/m, ''));
    const r = await build(dir);
    expect(r.stderr).toContain(
      "manifest: workload.base_url http://127.0.0.1:80, from the image's one exposed tcp port\n",
    );
    expect(readJson(join(dir, 'hello-ext4.manifest.json')).workload!.base_url).toBe('http://127.0.0.1:80');

    writeFileSync(
      join(dir, 'manifest.toml'),
      `${toml.replace(/^base_url = .*\n/m, '').replace(/^mode = .*$/m, 'mode = "bridged"')}\n[[network.expose]]\nport = 8443\nhost_port = 443\n`,
    );
    await build(dir, ['-q']);
    const m = readJson(join(dir, 'hello-ext4.manifest.json'));
    expect([m.workload!.base_url, m.network]).toEqual([
      'http://127.0.0.1:8443',
      { mode: 'bridged', expose: [{ port: 8443, protocol: 'tcp', host_port: 443 }] },
    ]);
    expect(droppedNetworkKeys(m, 'newer')).toEqual([]);
    expect(droppedNetworkKeys(m, 'v0.6.5')).toEqual(['expose']);

    // two tcp ports: nothing to pick, so the manifest.toml error, with its line
    imageVariant(root, join(root, 'web-image'), { Cmd: ['/bin/sh'], ExposedPorts: { '80/tcp': {}, '443/tcp': {} } });
    writeFileSync(join(dir, 'manifest.toml'), toml.replace(/^base_url = .*\n/m, ''));
    const two = await runCli(['build', '-q'], { cwd: dir });
    expect([two.code, two.stderr]).toEqual([
      2,
      'fledge-pure: manifest.toml:10: workload.base_url: required but missing; add base_url = ' +
        '"http://127.0.0.1:8080" under [workload] (Volant needs the address its agent reaches the ' +
        'workload at), a [[network.expose]] tcp port, or an image that EXPOSEs exactly one tcp port to derive it from\n',
    ]);
  }, 120_000);

  it('without manifest.toml: a manifest from the image when it gives every required field, else one warning naming what is missing', async () => {
    const root = examples();
    const dir = join(root, 'hello-ext4');
    // hello-ext4 without its manifest.toml: the hello image has a Cmd but exposes no port
    const bare = join(root, 'bare');
    cpSync(dir, bare, { recursive: true, filter: (s) => !s.endsWith('manifest.toml') && !/\.(img|json)$/.test(s) });
    const warn = await build(bare);
    expect(warn.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      'warning: no manifest.toml, and the image lacks what Volant requires: workload.base_url (no tcp ' +
        'port exposed); no manifest.json written (add a manifest.toml, or pass --manifest)',
    ]);
    expect(warn.stdout).toBe(`${join(bare, 'hello.img')}\n`);

    imageVariant(root, join(root, 'web-image'), {
      Entrypoint: ['/bin/httpd', '-f'],
      Cmd: ['-p', '80'],
      ExposedPorts: { '80/tcp': {} },
      Labels: { 'org.opencontainers.image.version': '2.1.0' },
    });
    writeFileSync(
      join(bare, 'fledge.toml'),
      readFileSync(join(bare, 'fledge.toml'), 'utf8').replace(/^image = .*$/m, 'image = "oci:../web-image:hello"'),
    );
    const ok = await build(bare, ['-q']);
    expect(ok.stdout).toBe(`${join(bare, 'hello.img')}\n${join(bare, 'hello.manifest.json')}\n`);
    const m = readJson(join(bare, 'hello.manifest.json'));
    expect(m).toMatchObject({
      name: 'hello',
      version: '2.1.0',
      runtime: 'hello',
      resources: { cpu_cores: 1, memory_mb: 512 },
      workload: { type: 'http', base_url: 'http://127.0.0.1:80', entrypoint: ['/bin/httpd', '-f', '-p', '80'] },
      rootfs: { url: join(bare, 'hello.img'), format: 'ext4' },
    });
    expect(volantProblems(m, 'newer')).toEqual([]);

    // no image (an initramfs of files): nothing to take the fields from
    const hello = join(root, 'hello-bare');
    cpSync(join(root, 'hello'), hello, { recursive: true, filter: (s) => !s.endsWith('manifest.toml') });
    const none = await build(hello);
    expect(none.stderr).toContain(
      'warning: no manifest.toml and no image to take workload.entrypoint and workload.base_url from; no ' +
        'manifest.json written (add a manifest.toml, or pass --manifest)\n',
    );
  }, 120_000);
});
