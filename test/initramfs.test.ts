// What the initramfs strategy puts in the archive, read back by bsdtar: the skeleton,
// busybox and its links, the init of each mode, the agent from each source, and the
// mappings with Fledge's FHS modes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_APPLETS, DEFAULT_INIT } from '../src/pipeline/initramfs.js';
import { fhsMode } from '../src/pipeline/mappings.js';
import { project, runCli } from './helpers/cli.js';
import { serveFiles, type FileServer } from './helpers/http.js';

const BUSYBOX = readFileSync('/bin/busybox');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let server: FileServer;
/** a stand-in for api.github.com: release JSON naming downloads on `server` */
let github: FileServer;
beforeAll(async () => {
  server = await serveFiles({
    '/busybox': BUSYBOX,
    '/dl/kestrel-latest': Buffer.from('#!/bin/sh\necho latest\n'),
    '/dl/kestrel-v0.6.5': Buffer.from('#!/bin/sh\necho v0.6.5\n'),
  });
  const release = (tag: string, assets: { name: string; browser_download_url: string }[]) =>
    Buffer.from(JSON.stringify({ tag_name: tag, assets }));
  github = await serveFiles({
    '/repos/volantvm/volant/releases/latest': release('v0.7.0', [
      { name: 'kestrel.sha256', browser_download_url: `${server.url}/nothing` },
      { name: 'kestrel', browser_download_url: `${server.url}/dl/kestrel-latest` },
    ]),
    '/repos/volantvm/volant/releases/tags/v0.6.5': release('v0.6.5', [
      { name: 'kestrel', browser_download_url: `${server.url}/dl/kestrel-v0.6.5` },
    ]),
    '/repos/volantvm/volant/releases/tags/v0.0.1': release('v0.0.1', []),
  });
});
afterAll(async () => {
  await server.close();
  await github.close();
});

function config(extra: string): string {
  return `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "${server.url}/busybox"\nbusybox_sha256 = "${sha(BUSYBOX)}"\n\n${extra}`;
}

interface Listed {
  mode: string;
  owner: string;
  size: number;
  target?: string;
}

/** bsdtar's verbose listing of the archive as name → what it shows. */
function list(archive: string): Map<string, Listed> {
  const out = execFileSync('bsdtar', ['-tvzf', archive, '--numeric-owner']).toString();
  const m = new Map<string, Listed>();
  for (const line of out.trimEnd().split('\n')) {
    const f = line.split(/\s+/);
    const rest = f.slice(8).join(' ');
    const [name, target] = rest.split(' -> ');
    m.set(name, { mode: f[0], owner: `${f[2]}:${f[3]}`, size: Number(f[4]), target });
  }
  return m;
}

function extract(archive: string, path: string): string {
  return execFileSync('bsdtar', ['-xOzf', archive, path]).toString();
}

async function build(
  dir: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; archive: string }> {
  const r = await runCli(['build', '--quiet', '-o', 'out.cpio.gz'], { cwd: dir, env });
  return { code: r.code, stderr: r.stderr, archive: join(dir, 'out.cpio.gz') };
}

describe('initramfs contents', () => {
  it('has the skeleton, the console and null devices, busybox and relative applet links', async () => {
    const dir = project({
      'fledge.toml': config('[agent]\nsource_strategy = "local"\npath = "./agent"\n'),
      'agent*': '#!/bin/sh\n',
    });
    const b = await build(dir);
    expect(b.stderr).toBe('');
    const l = list(b.archive);
    for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'run', 'usr/bin', 'usr/sbin', 'usr/lib', 'var/log'])
      expect(l.get(d)?.mode).toBe('drwxr-xr-x');
    expect(l.get('tmp')?.mode).toBe('drwxrwxrwt');
    expect(l.get('root')?.mode).toBe('drwx------');
    expect(l.get('dev/console')).toMatchObject({ mode: 'crw-------', owner: '0:0' });
    expect(l.get('dev/null')?.mode).toBe('crw-rw-rw-');
    expect(
      execFileSync('cpio', ['-itv', '--quiet'], {
        input: execFileSync('gzip', ['-dc', b.archive], { maxBuffer: 1 << 28 }),
      }).toString(),
    ).toMatch(/crw-------\s+1 root\s+root\s+5,\s+1 .* dev\/console/);
    expect(l.get('bin/busybox')).toMatchObject({ mode: '-rwxr-xr-x', owner: '0:0', size: BUSYBOX.length });
    for (const a of BUSYBOX_APPLETS) expect(l.get(`bin/${a}`)).toMatchObject({ mode: 'lrwxrwxrwx', target: 'busybox' });
    expect(l.get('init')?.mode).toBe('-rwxr-xr-x');
    expect(extract(b.archive, 'init')).toBe(DEFAULT_INIT);
    expect(extract(b.archive, 'bin/kestrel')).toBe('#!/bin/sh\n');
    expect(l.get('bin/kestrel')?.mode).toBe('-rwxr-xr-x');
  });

  it('takes the agent from a GitHub release: latest, or the tag of [agent] version', async () => {
    const env = { FLEDGE_PURE_GITHUB_API: github.url };
    const latest = project({ 'fledge.toml': config('[agent]\nsource_strategy = "release"\nversion = "latest"\n') });
    expect((await build(latest, env)).code).toBe(0);
    expect(extract(join(latest, 'out.cpio.gz'), 'bin/kestrel')).toBe('#!/bin/sh\necho latest\n');
    const tagged = project({ 'fledge.toml': config('[agent]\nsource_strategy = "release"\nversion = "v0.6.5"\n') });
    expect((await build(tagged, env)).code).toBe(0);
    expect(extract(join(tagged, 'out.cpio.gz'), 'bin/kestrel')).toBe('#!/bin/sh\necho v0.6.5\n');
  });

  it('says in one line when a release has no kestrel, or GitHub cannot be reached', async () => {
    const none = project({ 'fledge.toml': config('[agent]\nsource_strategy = "release"\nversion = "v0.0.1"\n') });
    const b = await build(none, { FLEDGE_PURE_GITHUB_API: github.url });
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(
      /^fledge-pure: agent: release v0.0.1 of volantvm\/volant has no asset named "kestrel"; .*\n$/,
    );
    const offline = project({ 'fledge.toml': config('') });
    const o = await build(offline, { FLEDGE_PURE_GITHUB_API: 'http://127.0.0.1:9' });
    expect(o.code).toBe(1);
    expect(o.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(o.stderr).toMatch(
      /agent: cannot download http:\/\/127.0.0.1:9\/repos\/volantvm\/volant\/releases\/latest .*source_strategy = "local"/,
    );
    expect(readFileSync(join(offline, 'fledge.toml'), 'utf8')).toContain('initramfs');
  });

  it('applies mappings with Fledge FHS modes, recursively for folders, owned by root', async () => {
    const dir = project({
      'fledge.toml': config(
        '[init]\nnone = true\n\n[mappings]\n"./app" = "/usr/bin/app"\n"./conf" = "/etc/app.conf"\n' +
          '"./tree" = "/opt/tree"\n"./libfoo.so.1" = "/usr/lib/libfoo.so.1"\n"./run.sh" = "/srv/run.sh"\n"./init" = "/init"\n',
      ),
      app: 'binary',
      conf: 'k=v',
      'tree/bin/tool': 'x',
      'tree/share/data': 'y',
      'libfoo.so.1': 'elf',
      'run.sh*': '#!/bin/sh',
      init: '#!/bin/sh',
    });
    const b = await build(dir);
    expect(b.stderr).toBe('');
    const l = list(b.archive);
    expect(l.get('usr/bin/app')).toMatchObject({ mode: '-rwxr-xr-x', owner: '0:0' });
    expect(l.get('etc/app.conf')?.mode).toBe('-rw-r--r--');
    expect(l.get('opt/tree')?.mode).toBe('drwxr-xr-x');
    expect(l.get('opt/tree/bin/tool')?.mode).toBe('-rw-r--r--');
    expect(l.get('opt/tree/share/data')?.mode).toBe('-rw-r--r--');
    expect(l.get('usr/lib/libfoo.so.1')?.mode).toBe('-rwxr-xr-x');
    expect(l.get('srv/run.sh')?.mode).toBe('-rwxr-xr-x');
    // a non-executable host file mapped to /init is still 0755: the kernel runs it
    expect(l.get('init')?.mode).toBe('-rwxr-xr-x');
    expect(l.has('bin/kestrel')).toBe(false);
  });

  it(
    "custom init in the seed's own form (path + a mapping of the same file to /init) gives an " +
      'executable /init; none with nothing at /init is one error line',
    async () => {
      const seed = project({
        'fledge.toml': config('[init]\npath = "./my-init"\n\n[mappings]\n"./my-init" = "/init"\n'),
        'my-init': '#!/bin/sh\n',
      });
      const b = await build(seed);
      expect(b.stderr).toBe('');
      expect(list(b.archive).get('init')?.mode).toBe('-rwxr-xr-x');
      const none = project({ 'fledge.toml': config('[init]\nnone = true\n') });
      const r = await runCli(['build', '-q'], { cwd: none });
      expect([r.code, r.stderr]).toEqual([
        1,
        `fledge-pure: init: [init] none = true but nothing is at /init, so the kernel has nothing to run; ` +
          `map your program there ([mappings] "./my-init" = "/init" in ${join(none, 'fledge.toml')}) or remove [init] for the default init\n`,
      ]);
      expect(readdirSync(none)).toEqual(['fledge.toml']);
    },
  );

  it('computes FHS modes as Fledge does', async () => {
    expect(fhsMode(0o100600, '/etc/x')).toBe(0o644);
    expect(fhsMode(0o100644, '/init')).toBe(0o755);
    expect(fhsMode(0o100700, '/etc/x')).toBe(0o700);
    expect(fhsMode(0o100744, '/etc/x')).toBe(0o755);
    expect(fhsMode(0o100640, '/opt/bin/x')).toBe(0o755);
    expect(fhsMode(0o100640, '/usr/local/sbin/x')).toBe(0o755);
    expect(fhsMode(0o100640, '/usr/lib64/libc.so')).toBe(0o755);
    expect(fhsMode(0o100640, '/usr/lib/x86_64/libz.so.1.2')).toBe(0o755);
    expect(fhsMode(0o100640, '/usr/lib/notes.txt')).toBe(0o644);
    expect(fhsMode(0o100640, '/srv/lib/libc.so')).toBe(0o644);
    expect(fhsMode(0o100640, '/binary')).toBe(0o644);
  });
});
