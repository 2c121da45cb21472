// The command line as a user meets it: help, exit codes, one-line errors, no partial
// artifacts, output names, manifest.json, and the same bytes from any folder, TZ or umask.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE, CLI, project, runCli } from './helpers/cli.js';
import { golden, manifestSha } from './helpers/golden.js';
import { writeHardLayout } from './helpers/hard-image.js';

const EXAMPLE = resolve('examples/hello');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUSYBOX = readFileSync('/bin/busybox');

function copyExample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-example-'));
  cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

function minimal(extra = ''): Record<string, string | Buffer> {
  return {
    'fledge.toml':
      `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "./busybox"\n` +
      `busybox_sha256 = "${sha(BUSYBOX)}"\n\n[init]\nnone = true\n\n[mappings]\n"./busybox" = "/init"\n${extra}`,
    busybox: BUSYBOX,
  };
}

describe('fledge-pure CLI', () => {
  it('has --help on every command', async () => {
    const cwd = tmpdir();
    const top = await runCli(['--help'], { cwd });
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/build.*\n.*validate/s);
    const b = await runCli(['build', '--help'], { cwd });
    expect(b.code).toBe(0);
    for (const o of [
      '--config',
      '--manifest',
      '--output',
      '--docker-archive',
      '--output-initramfs',
      '--context',
      '--target',
      '--build-arg',
      '--quiet',
      '--url-base',
    ])
      expect(b.stdout).toContain(o);
    const v = await runCli(['validate', '--help'], { cwd });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('--config');
  });

  it('exits 2 on usage errors, with one line', async () => {
    const cwd = tmpdir();
    for (const args of [[], ['frobnicate'], ['build', '--no-such-flag']]) {
      const r = await runCli(args, { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^fledge-pure: /);
    }
  });

  it('builds the shipped example into <name>.cpio.gz and <name>.manifest.json', async () => {
    const dir = copyExample();
    const r = await runCli(['build'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/busybox: .*\/busybox\n/);
    const artifact = readFileSync(join(dir, 'hello.cpio.gz'));
    expect(r.stdout).toBe(`${join(dir, 'hello.cpio.gz')}\n${join(dir, 'hello.manifest.json')}\n`);
    const manifest = JSON.parse(readFileSync(join(dir, 'hello.manifest.json'), 'utf8'));
    expect(manifest.initramfs).toEqual({
      url: join(dir, 'hello.cpio.gz'),
      checksum: `sha256:${sha(artifact)}`,
      format: 'cpio.gz',
    });
    expect(manifest.name).toBe('hello');
    expect(manifest.workload.entrypoint).toEqual(['/bin/kestrel']);
    expect(manifest.workload.type).toBe('http');
  });

  it('gives byte-identical output from another folder, TZ and umask, matching golden/', async () => {
    const digests = [];
    for (const env of [{ TZ: 'UTC' }, { TZ: 'Asia/Kolkata', LANG: 'de_DE.UTF-8' }]) {
      const dir = copyExample();
      const umask = env.TZ === 'UTC' ? '022' : '077';
      execFileSync('sh', ['-c', `umask ${umask} && "${process.execPath}" "${resolve('dist/cli.js')}" build --quiet`], {
        cwd: dir,
        env: { ...process.env, ...env },
      });
      digests.push([sha(readFileSync(join(dir, 'hello.cpio.gz'))), manifestSha(join(dir, 'hello.manifest.json'))]);
    }
    expect(digests[0]).toEqual(digests[1]);
    expect(digests[0]).toEqual([golden['hello.cpio.gz'], golden['hello.manifest.json']]);
  });

  it('shows progress as one live line on a terminal, plain lines otherwise', async () => {
    const dir = copyExample();
    const tty = execFileSync(
      'script',
      ['-qec', `"${process.execPath}" "${resolve('dist/cli.js')}" build -o tty.cpio.gz`, '/dev/null'],
      { cwd: dir },
    ).toString();
    expect(tty).toMatch(/^\r\x1b\[Kinitramfs: assembling the tree\r\x1b\[Kbusybox: /);
    const plain = await runCli(['build', '-o', 'plain.cpio.gz'], { cwd: dir });
    expect(plain.stderr).toMatch(/^initramfs: assembling the tree\nbusybox: .*\nagent: /);
    expect(plain.stderr).not.toContain('\x1b');
  });

  it('honours --output exactly, --url-base, and names "plugin" without a manifest name', async () => {
    const dir = project({
      ...minimal(),
      'manifest.toml':
        'name = "app"\nversion = "1.0.0"\nruntime = "app"\n\n[workload]\nentrypoint = "/init"\nbase_url = "http://127.0.0.1:80"\n',
    });
    const r = await runCli(['build', '-q', '-o', 'out/x.img', '--url-base', 'https://cdn.example/p/'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/folder .*out does not exist/);
    execFileSync('mkdir', ['out'], { cwd: dir });
    expect(
      (await runCli(['build', '-q', '-o', 'out/x.img', '--url-base', 'https://cdn.example/p/'], { cwd: dir })).code,
    ).toBe(0);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['app.manifest.json', 'x.img']);
    expect(JSON.parse(readFileSync(join(dir, 'out/app.manifest.json'), 'utf8')).initramfs.url).toBe(
      'https://cdn.example/p/x.img',
    );
    const bare = project(minimal());
    const b = await runCli(['build'], { cwd: bare });
    expect(b.code).toBe(0);
    expect(b.stderr).toContain('no manifest.toml');
    expect(readdirSync(bare)).toContain('plugin.cpio.gz');
  });

  it('fails a bad build with one line, exit 1, and leaves nothing behind', async () => {
    const files = minimal('"./missing" = "/etc/x"\n');
    const dir = project(files);
    const before = readdirSync(dir).sort();
    const r = await runCli(['build'], { cwd: dir, env: {} });
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(
      /^fledge-pure: mappings: .*missing \(mapped to \/etc\/x\) does not exist; fix \[mappings\] in fledge.toml$/,
    );
    expect(readdirSync(dir).sort()).toEqual(before);

    const wrong = project(minimal());
    writeFileSync(join(wrong, 'busybox'), 'not busybox');
    const w = await runCli(['build', '-q'], { cwd: wrong });
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/^fledge-pure: busybox: .*busybox has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; .*\n$/);
    expect(readdirSync(wrong).sort()).toEqual(['busybox', 'fledge.toml']);
  });

  it('exits 2 naming the file, line and key for a config error', async () => {
    const dir = project({
      ...minimal(),
      'fledge.toml': 'version = "1"\nstrategy = "initramfs"\n[filesystem]\ntype = "ext4"\n',
    });
    const r = await runCli(['build'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/fledge\.toml:3/);
    expect(readdirSync(dir).sort()).toEqual(['busybox', 'fledge.toml']);
    const v = await runCli(['validate'], { cwd: dir });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/fledge\.toml:3: filesystem/);
    const ok = project(minimal());
    const o = await runCli(['validate'], { cwd: ok });
    expect([o.code, o.stdout]).toEqual([0, 'ok\n']);
  });

  it('says plainly which capabilities are not in this version', async () => {
    const dir = project({ ...minimal(), Dockerfile: 'FROM scratch\nRUN --mount=type=secret,id=token echo hi\n' });
    const want: Array<[string[], RegExp]> = [
      [
        ['build', '-q', './Dockerfile'],
        /^fledge-pure: Dockerfile:2: RUN: --mount=type=secret,id=token: type=secret is not supported by fledge-pure yet/,
      ],
      [
        ['build', '-q', '--build-arg', 'A=1'],
        /^fledge-pure: --context, --target and --build-arg are for Dockerfile builds/,
      ],
    ];
    for (const [args, message] of want) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    const missing = await runCli(['build', '-q', '--docker-archive', 'img.tar'], { cwd: dir });
    expect([missing.code, missing.stderr]).toEqual([1, `fledge-pure: ${join(dir, 'img.tar')}: no such archive file\n`]);
  });

  it('refuses an image whose layer escapes the root: exit 1, one line naming layer, entry and fix, no artifact', async () => {
    const src = mkdtempSync(join(tmpdir(), 'fp-escape-'));
    mkdirSync(join(src, 'in/etc'), { recursive: true });
    writeFileSync(join(src, 'in/etc/ok'), 'ok');
    writeFileSync(join(src, 'x'), 'outside');
    const layer = execFileSync('tar', ['--format=pax', '--no-recursion', '-P', '-cf', '-', 'etc', 'etc/ok', '../x'], {
      cwd: join(src, 'in'),
    });
    const toml =
      `version = "1"\nstrategy = "initramfs"\n\n[source]\nimage = "oci:./img:evil"\n` +
      `busybox_url = "./busybox"\nbusybox_sha256 = "${sha(BUSYBOX)}"\n\n[init]\nnone = true\n`;
    const dir = project({ 'fledge.toml': toml, busybox: BUSYBOX });
    writeHardLayout(join(dir, 'img'), [layer], 'gzip', 'evil');
    const before = readdirSync(dir).sort();
    const line =
      /^fledge-pure: oci:\.\/img:evil: layer 1 of 1 \(sha256:[0-9a-f]{64}\): entry "\.\.\/x" \(at byte \d+\): the name has a "\.\." component, so it would land outside the root; .*rebuild the image without that entry\n$/;
    const e = await runCli(['export', '-q', 'oci:./img:evil', '-o', 'out.tar'], { cwd: dir });
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(line);
    const b = await runCli(['build', '-q', '--output-initramfs', '-o', 'out.cpio.gz'], { cwd: dir });
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(line);
    expect(readdirSync(dir).sort()).toEqual(before);
  });
  it("builds from a local layout without loading yargs, network, Dockerfile, VM or other writers' code; yargs still parses the rest", async () => {
    const src = mkdtempSync(join(tmpdir(), 'fp-lazy-'));
    mkdirSync(join(src, 'etc'));
    writeFileSync(join(src, 'etc/ok'), 'ok');
    const layer = execFileSync('tar', ['--format=pax', '-cf', '-', 'etc'], { cwd: src });
    const toml =
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n` +
      `[source]\nimage = "oci:./img:t"\n\n[filesystem]\ntype = "ext4"\n`;
    const dir = project({ 'fledge.toml': toml, 'kestrel*': BUSYBOX });
    writeHardLayout(join(dir, 'img'), [layer], 'gzip', 't');
    // a module hook that lists every module the process loads (Node's module.register)
    const hook = join(dir, 'hook.mjs');
    writeFileSync(
      join(dir, 'loader.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, next) {\n' +
        "  appendFileSync(process.env.FP_LOADED, url + '\\n');\n" +
        '  return next(url, context);\n}\n',
    );
    writeFileSync(hook, "import { register } from 'node:module';\nregister('./loader.mjs', import.meta.url);\n");
    const env = { ...process.env, XDG_CACHE_HOME: CACHE, FP_LOADED: join(dir, 'loaded.txt') };
    execFileSync(process.execPath, ['--import', hook, CLI, 'build', '-q', '-o', 'fast.img'], { cwd: dir, env });
    const loaded = readFileSync(join(dir, 'loaded.txt'), 'utf8');
    expect(loaded).toContain('/dist/oci/tar.js'); // the hook saw the build
    for (const never of [
      '/node_modules/yargs/',
      '/node_modules/node-fetch/',
      '/dist/cli-yargs.js',
      '/dist/download.js',
      '/dist/oci/remote/',
      '/dist/oci/sources/daemon.js',
      '/dist/dockerfile/build.js',
      '/dist/vm/',
      '/dist/squashfs/write.js',
      '/dist/qcow2/',
      '/dist/pipeline/initramfs.js',
      '/dist/export/',
    ])
      expect(loaded).not.toContain(never);
    // the same build through yargs (a flag the fast path leaves to it): the same image
    const slow = await runCli(['build', '-q', '-o', 'slow.img', '--network-timeout', '30'], { cwd: dir });
    expect(slow.code).toBe(0);
    expect(sha(readFileSync(join(dir, 'slow.img')))).toBe(sha(readFileSync(join(dir, 'fast.img'))));
    const version = await runCli(['--version'], { cwd: dir });
    expect([version.code, version.stdout]).toEqual([
      0,
      `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`,
    ]);
    const valid = await runCli(['validate'], { cwd: dir });
    expect([valid.code, valid.stdout]).toEqual([0, 'ok\n']);
    const listing = await runCli(['inspect', 'oci:./img:t'], { cwd: dir });
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/ \/etc\/ok\n/);
  });
});
