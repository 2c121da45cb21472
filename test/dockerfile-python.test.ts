// The Python app Dockerfile of the Fledge docs ("Dynamic Dependencies": apt-get install
// python3 python3-pip, the kestrel download, pip3 install -r requirements.txt, COPY
// app.py, WORKDIR /app, EXPOSE 5000), built with its three RUN steps in our build VM and
// by buildah, adapted only where it needs the internet:
// - the base is a real Debian 12 userland named debian:bookworm in the test registry
//   (ubuntu:22.04's archive is not reachable here): `debootstrap --variant=minbase`
//   from the mirror this machine's apt uses, into the test's folder, with python3,
//   python3-pip and wget included at debootstrap time (installing python3 with its
//   byte-compiling postinst under TCG takes minutes; the docs' ubuntu:22.04 has no wget
//   either). The base lists no archive, has an empty /dev and empty hosts, hostname
//   and resolv.conf (what buildah mounts over; debootstrap copies the host's), and no
//   downloaded .debs or apt lists.
// - apt-get reads a flat repository the test serves on loopback (busybox httpd): a
//   small .deb made with dpkg-deb (a program, a conffile, a postinst that chowns a
//   folder to daemon:daemon with setgid and makes a hard link), indexed with
//   dpkg-scanpackages. The step lists it `[trusted=yes]` for itself and removes the
//   line with the lists; python3 and python3-pip are already installed, so apt keeps them.
// - kestrel is a stand-in script from the same server.
// - pip3 reads a PEP 503 simple index on the same server holding a pure-Python wheel
//   the test makes (bsdtar writes the zip). pip's options are ARGs, so the RUN line is
//   the docs' one: the index (PIP_INDEX_URL), no cache (PIP_NO_CACHE_DIR, nothing left
//   in /root/.cache), no version check, and PIP_BREAK_SYSTEM_PACKAGES=1, as Debian 12's
//   pip refuses a system install (PEP 668, /usr/lib/python3.11/EXTERNALLY-MANAGED).
// - pip refuses plain http from any host but localhost: PIP_TRUSTED_HOST, an ARG too.
// - the server's address is a build-arg: 10.0.2.2 (the host's loopback through QEMU's
//   user-mode NAT) for our VM, 127.0.0.1 for buildah's chroot.
// Our tree equals the folder `umoci unpack` makes of buildah's image (paths, types,
// modes, owners, xattrs, content, hard links) but for what apt, dpkg and pip write
// differently on every run (listed at NONDETERMINISTIC, each with why), and the image
// configs agree. The ext4 rootfs built by the CLI (the steps from the step cache) boots
// in QEMU with app.py as init, which imports the module pip installed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import type { Tree } from '../src/tree/tree.js';
import { buildahBuild } from './helpers/buildah.js';
import { runCli } from './helpers/cli.js';
import { bootAsRoot } from './helpers/disk-boot.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { push, type Registry, startRegistry } from './helpers/registry.js';
import { type Entry, snapshotDir, snapshotTree } from './helpers/snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-dockerfile-python-'));
let savedCache: string | undefined;
let registry: Registry;
let httpd: ChildProcess | undefined;
let port: number;
let dir: string;
let built: { tree: Tree; config: Buffer };

/** One boot under TCG on a loaded 2-core machine can take minutes; this file boots four VMs. */
const BOOT_MS = 300_000;

const SITE = 'usr/local/lib/python3.11/dist-packages';

/**
 * What differs between two runs of the same steps, by nature: apt's and dpkg's logs (they
 * hold the time), apt's binary package caches (pkgcache.bin, srcpkgcache.bin: they hold
 * the lists' mtimes) and debconf's backup copies (written only when debconf saved). The
 * folders themselves are compared.
 */
const NONDETERMINISTIC = [/^var\/log\/apt\/.+/, /^var\/log\/dpkg\.log$/, /^var\/cache\/apt\/.+\.bin$/];
const skip = (p: string) => NONDETERMINISTIC.some((re) => re.test(p));

/**
 * The entries that differ, one line each (a tree of ~10 000 entries makes a long diff
 * otherwise). A .pyc holds its source's mtime (PEP 552's default, timestamp mode), which
 * is when pip wrote the source: it is compared but for its bytes.
 */
function differences(ours: Entry[], theirs: Entry[]): string[] {
  const line = (e: Entry) => JSON.stringify(e.path.endsWith('.pyc') ? { ...e, sha256: undefined } : e);
  const a = new Map(ours.map((e) => [e.path, line(e)]));
  const b = new Map(theirs.map((e) => [e.path, line(e)]));
  const out: string[] = [];
  for (const [p, l] of a) if (b.get(p) !== l) out.push(b.has(p) ? `ours ${l} buildah ${b.get(p)}` : `only ours: ${l}`);
  for (const [p, l] of b) if (!a.has(p)) out.push(`only buildah: ${l}`);
  return out;
}

function put(root: string, path: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
  chmodSync(join(root, path), mode);
}

/** The mirror this machine's apt uses (deb822 or one-line sources), else Debian's. */
function debianMirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const text = readFileSync(f, 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

/** Debian 12 minbase with python3, python3-pip and wget, as one uncompressed layer. */
function debianLayer(): Buffer {
  const root = join(scratch, 'debian-root');
  const started = Date.now();
  // a private mount namespace: debootstrap's /proc and /sys mounts in the root go with it
  const packages = '--include=python3,python3-pip,wget';
  execFileSync('unshare', ['-m', 'debootstrap', '--variant=minbase', packages, 'bookworm', root, debianMirror()], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  console.log(
    `debootstrap (minbase bookworm, python3, python3-pip, wget): ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  const emptyFolder = (d: string) => {
    for (const n of readdirSync(join(root, d))) rmSync(join(root, d, n), { recursive: true, force: true });
  };
  for (const d of ['dev', 'var/lib/apt/lists', 'var/cache/apt/archives', 'var/log']) emptyFolder(d);
  for (const f of ['etc/apt/sources.list', 'var/cache/apt/pkgcache.bin', 'var/cache/apt/srcpkgcache.bin'])
    rmSync(join(root, f), { force: true });
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) put(root, f, '');
  return execFileSync('tar', ['--sort=name', '--numeric-owner', '-cf', '-', '.'], { cwd: root, maxBuffer: 1 << 30 });
}

/** The .deb the apt step installs from the flat repository. */
function makeDeb(www: string): void {
  const pkg = join(scratch, 'fledge-hello');
  put(
    pkg,
    'DEBIAN/control',
    'Package: fledge-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: fledge-pure tests <tests@fledge-pure.invalid>\n' +
      'Description: a stand-in package from the test flat repository\n',
  );
  put(pkg, 'DEBIAN/conffiles', '/etc/fledge-hello.conf\n');
  put(
    pkg,
    'DEBIAN/postinst',
    '#!/bin/sh\nset -e\nmkdir -p /var/lib/fledge-hello\nchown daemon:daemon /var/lib/fledge-hello\n' +
      'chmod 2750 /var/lib/fledge-hello\nln -f /usr/bin/fledge-hello /usr/bin/fledge-hi\n',
    0o755,
  );
  put(pkg, 'usr/bin/fledge-hello', '#!/bin/sh\necho fledge-hello\n', 0o755);
  put(pkg, 'etc/fledge-hello.conf', 'greeting=hello\n');
  mkdirSync(join(www, 'apt'), { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', pkg, join(www, 'apt/fledge-hello_1.0_all.deb')], {
    stdio: 'ignore',
  });
  const index = execFileSync('dpkg-scanpackages', ['.'], {
    cwd: join(www, 'apt'),
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  writeFileSync(join(www, 'apt/Packages'), index);
}

/** busybox httpd serving dir on a free loopback port, once it accepts connections. */
async function startHttpd(www: string): Promise<void> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  httpd = spawn('busybox', ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', www], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('busybox httpd did not start');
}

const b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64url');

/** A pure-Python wheel (a zip, bsdtar writes it) and its PEP 503 project page. */
function makeWheel(www: string): void {
  const src = join(scratch, 'wheel');
  const info = 'fledgehello-1.0.dist-info';
  const files: Record<string, string> = {
    'fledgehello/__init__.py': 'GREETING = "hello from the test index"\n',
    [`${info}/METADATA`]: 'Metadata-Version: 2.1\nName: fledgehello\nVersion: 1.0\n',
    [`${info}/WHEEL`]: 'Wheel-Version: 1.0\nGenerator: fledge-pure-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  };
  let record = '';
  for (const [p, text] of Object.entries(files)) {
    put(src, p, text);
    record += `${p},sha256=${b64(Buffer.from(text))},${Buffer.byteLength(text)}\n`;
  }
  put(src, `${info}/RECORD`, `${record}${info}/RECORD,,\n`);
  const whl = 'fledgehello-1.0-py3-none-any.whl';
  mkdirSync(join(www, 'files'), { recursive: true });
  execFileSync('bsdtar', ['--format', 'zip', '-cf', join(www, 'files', whl), 'fledgehello', info], { cwd: src });
  const sha = createHash('sha256')
    .update(readFileSync(join(www, 'files', whl)))
    .digest('hex');
  // busybox httpd serves a folder's index.html as text/html, which pip requires of an index page
  put(www, 'simple/fledgehello/index.html', `<!DOCTYPE html>\n<a href="../../files/${whl}#sha256=${sha}">${whl}</a>\n`);
}

beforeAll(async () => {
  savedCache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  registry = await startRegistry();
  const www = join(scratch, 'www');
  makeDeb(www);
  makeWheel(www);
  put(www, 'kestrel', '#!/bin/sh\necho kestrel stand-in\n');
  await startHttpd(www);
  const layout = join(scratch, 'debian-layout');
  writeHardLayout(layout, [debianLayer()], 'none', 'base', {
    history: [{ created_by: 'debootstrap --variant=minbase bookworm' }],
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
  });
  await push(layout, 'base', `${registry.host}/debian:bookworm`);
}, 600_000);
afterAll(async () => {
  httpd?.kill();
  await registry?.stop();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

const DOCKERFILE = (registryHost: string) => `FROM ${registryHost}/debian:bookworm
# adapted: where the test's loopback server is, as the build sees the host
ARG REPO
# adapted: pip's options, from its environment: the test's index, no cache, no version
# check, and a system install although Debian 12 marks its Python externally managed
ARG PIP_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG PIP_NO_CACHE_DIR=1
ARG PIP_DISABLE_PIP_VERSION_CHECK=1
ARG PIP_BREAK_SYSTEM_PACKAGES=1

# Install runtime dependencies (adapted: from the test's flat repository, listed for this
# step only; fledge-hello comes from it)
RUN echo "deb [trusted=yes] http://$REPO/apt ./" > /etc/apt/sources.list.d/loopback.list && \\
    apt-get update && \\
    apt-get install -y python3 python3-pip fledge-hello && \\
    rm -rf /var/lib/apt/lists/* /etc/apt/sources.list.d/loopback.list

# Install kestrel (adapted: a stand-in from the test's server)
RUN wget -O /usr/local/bin/kestrel http://$REPO/kestrel && \\
    chmod +x /usr/local/bin/kestrel

# Install Python packages
COPY requirements.txt /app/
RUN pip3 install -r /app/requirements.txt

COPY app.py /app/
COPY kestrel-config.yaml /etc/kestrel/config.yaml

WORKDIR /app
EXPOSE 5000
`;

const APP = `# the docs' app, reduced to what shows it runs: a module pip installed from the index
import fledgehello

print("IMPORTED", fledgehello.__file__, fledgehello.GREETING)
`;

const args = (host: string) => ({
  REPO: `${host}:${port}`,
  PIP_INDEX_URL: `http://${host}:${port}/simple`,
  PIP_TRUSTED_HOST: host,
});

describe("the Fledge docs' Python app Dockerfile (apt-get, wget, pip3 in three RUN steps)", () => {
  it(
    'builds as buildah builds it: the .deb, its postinst, kestrel and the wheel in the tree; the same config',
    async () => {
      dir = mkdtempSync(join(scratch, 'ctx-'));
      put(dir, 'Dockerfile', DOCKERFILE(registry.host));
      put(dir, 'requirements.txt', 'fledgehello==1.0\n');
      put(dir, 'app.py', APP);
      put(dir, 'kestrel-config.yaml', 'exec:\n  - name: app\n    command: python3 /app/app.py\n');
      const lines: string[] = [];
      const started = Date.now();
      built = await buildDockerfile({
        dockerfile: join(dir, 'Dockerfile'),
        context: dir,
        buildArgs: args('10.0.2.2'),
        cwd: dir,
        epoch: { sec: 0, nsec: 0 },
        log: (l) => lines.push(l),
      }).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${lines.slice(-60).join('\n')}`)));
      const oursS = (Date.now() - started) / 1000;
      const theirs = buildahBuild(scratch, {
        context: dir,
        dockerfile: join(dir, 'Dockerfile'),
        buildArgs: args('127.0.0.1'),
      });
      console.log(`ours ${oursS.toFixed(0)} s; ${lines.filter((l) => l.includes('time:')).join('; ')}`);
      const tree = built.tree;
      // what the steps made, as the test expects it (so this test fails if a step did nothing)
      expect(tree.get('usr/bin/fledge-hello')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
      expect(tree.get('usr/bin/fledge-hi')).toBe(tree.get('usr/bin/fledge-hello'));
      expect(tree.get('etc/fledge-hello.conf')).toMatchObject({ type: 'file', mode: 0o644 });
      // daemon:daemon is 1:1 in Debian's base-passwd
      expect(tree.get('var/lib/fledge-hello')).toMatchObject({ type: 'dir', mode: 0o2750, uid: 1, gid: 1 });
      expect(tree.get('usr/local/bin/kestrel')).toMatchObject({ type: 'file', mode: 0o755 });
      expect(tree.get(`${SITE}/fledgehello/__init__.py`)).toMatchObject({ type: 'file', mode: 0o644, uid: 0 });
      expect(tree.get(`${SITE}/fledgehello-1.0.dist-info/INSTALLER`)).toMatchObject({ type: 'file' });
      for (const p of ['etc/apt/sources.list.d/loopback.list', 'root/.cache/pip'])
        expect(tree.get(p), p).toBeUndefined();
      expect(readdirOf(tree, 'var/lib/apt/lists').filter((n) => n !== 'partial' && n !== 'lock')).toEqual([]);
      expect(
        differences(snapshotTree(tree, { skip, xattrs: true }), snapshotDir(theirs.rootfs, { skip, xattrs: true })),
      ).toEqual([]);
      const ours = JSON.parse(built.config.toString('utf8')).config;
      for (const k of ['Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'ExposedPorts', 'Volumes', 'User'])
        expect(ours[k] || undefined, k).toEqual(theirs.config[k] || undefined);
      expect(ours.WorkingDir).toBe('/app');
      expect(ours.ExposedPorts).toEqual({ '5000/tcp': {} });
    },
    BOOT_MS * 3,
  );

  it(
    'the ext4 rootfs the CLI builds (steps from the cache) boots, and app.py imports what pip installed',
    async () => {
      expect(built, 'the build of the first test').toBeDefined();
      const buildArgs = Object.entries(args('10.0.2.2')).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
      put(
        dir,
        'fledge.toml',
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./agent"\n\n' +
          '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n',
      );
      put(dir, 'agent', '#!/bin/sh\n', 0o755);
      const r = await runCli(['build', '-o', 'python.img', ...buildArgs], {
        cwd: dir,
        env: { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.match(/cached \(step [0-9a-f]{12}\), no VM/g)).toHaveLength(3);
      const img = join(dir, 'python.img');
      expect(execFileSync('e2fsck', ['-fn', img], { encoding: 'utf8' })).toMatch(/files/);
      const out = await bootAsRoot(img, 'ext4', '/usr/bin/python3 /app/app.py', {
        until: /IMPORTED .*\n|Traceback|Kernel panic/,
        timeoutMs: BOOT_MS,
      });
      expect(out).toContain(`IMPORTED /${SITE}/fledgehello/__init__.py hello from the test index`);
    },
    BOOT_MS,
  );
});

function readdirOf(tree: Tree, path: string): string[] {
  const node = tree.get(path);
  return node?.type === 'dir' ? tree.children(node).map(([name]) => name) : [];
}
