// The Dockerfiles of the Fledge docs (the nginx plugin on Alpine, the multi-stage Go
// build, the database plugin), adapted only where they need the internet: the base
// images are small busybox images named like the real ones, pushed to a test registry
// (docker-registry); the kestrel download from get.volantvm.com comes from a loopback
// HTTP server — as `ADD --chmod=755 <url>` in the RUN-less forms, through the build VM's
// NAT in the nginx one, which keeps its RUN (`apk add nginx` becomes a download of a
// stand-in from the same server); the Go builder stage cannot compile offline, so the
// binary `go build` would make is in the context. Each is built by buildah too: our
// tree equals the folder `umoci unpack` makes of buildah's image, and the image configs
// agree. The RUN-less database plugin builds the same ext4 bytes twice.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import { buildahBuild } from './helpers/buildah.js';
import { runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { push, type Registry, startRegistry } from './helpers/registry.js';
import { snapshotDir, snapshotTree } from './helpers/snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-dockerfile-seeds-'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let savedCache: string | undefined;
let registry: Registry;
let httpd: ChildProcess | undefined;
let port: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

/** busybox httpd serving dir on 127.0.0.1, once it accepts connections. */
async function startHttpd(dir: string): Promise<void> {
  port = String(await freePort());
  httpd = spawn('busybox', ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = connect(Number(port), '127.0.0.1');
      s.on('connect', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('busybox httpd did not start');
}

/** One boot under TCG on a loaded 2-core machine can take minutes. */
const BOOT_MS = 300_000;

const APPLETS = ['sh', 'echo', 'mkdir', 'chmod', 'rm', 'cat', 'wget', 'ls'];
const KESTREL = Buffer.from('#!/bin/sh\necho kestrel stand-in\n');
const KESTREL_CONFIG = 'exec:\n  - name: app\n    command: /usr/local/bin/app\n';

function put(root: string, path: string, data: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
  chmodSync(join(root, path), mode);
}

/** A busybox image (Debian's static busybox) with the given extra files and config. */
async function pushBase(name: string, extra: Record<string, string>, config: Record<string, unknown>): Promise<void> {
  const root = join(scratch, `root-${name.replace(/[:/]/g, '-')}`);
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\npostgres:x:70:70::/var/lib/postgresql:/bin/sh\n');
  put(root, 'etc/group', 'root:x:0:\npostgres:x:70:\n');
  // what buildah mounts over (it leaves empty mount points in the layer otherwise)
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) put(root, f, '');
  for (const [path, data] of Object.entries(extra)) {
    if (path.endsWith('/')) mkdirSync(join(root, path), { recursive: true });
    else put(root, path, data);
  }
  for (const d of ['tmp', 'dev', 'proc', 'sys', 'run']) mkdirSync(join(root, d));
  chmodSync(join(root, 'tmp'), 0o1777);
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', '.'], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  const layout = join(scratch, `layout-${name.replace(/[:/]/g, '-')}`);
  writeHardLayout(layout, [tar], 'gzip', 'base', { history: [{ created_by: 'test base layer' }], config });
  await push(layout, 'base', `${registry.host}/${name}`);
}

beforeAll(async () => {
  savedCache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  registry = await startRegistry();
  const www = join(scratch, 'www');
  put(www, 'kestrel', KESTREL);
  put(www, 'nginx', '#!/bin/sh\necho nginx stand-in\n');
  await startHttpd(www);
  await pushBase(
    'alpine:3.19',
    { 'etc/alpine-release': '3.19.0\n', 'usr/sbin/': '', 'usr/local/bin/': '' },
    { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
  );
  await pushBase(
    'golang:1.21-alpine',
    { 'usr/local/go/VERSION': 'go1.21\n', 'go/': '' },
    { Env: ['PATH=/go/bin:/usr/local/go/bin:/bin', 'GOPATH=/go'], WorkingDir: '/go', Cmd: ['/bin/sh'] },
  );
  await pushBase(
    'postgres:16-alpine',
    { 'usr/local/bin/postgres': '#!/bin/sh\n', 'docker-entrypoint-initdb.d/': '' },
    {
      Env: ['PATH=/usr/local/bin:/bin', 'PGDATA=/var/lib/postgresql/data'],
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      Volumes: { '/var/lib/postgresql/data': {} },
      ExposedPorts: { '5432/tcp': {} },
    },
  );
}, 120_000);
afterAll(async () => {
  httpd?.kill();
  await registry?.stop();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

function context(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, 'ctx-'));
  for (const [path, data] of Object.entries(entries)) put(dir, path, data, path === 'app' ? 0o755 : 0o644);
  return dir;
}

/** Ours and buildah's builds of the context's Dockerfile: equal trees, equal config fields. */
async function againstBuildah(
  dir: string,
  args: { ours?: Record<string, string>; theirs?: Record<string, string> } = {},
) {
  const dockerfile = join(dir, 'Dockerfile');
  const built = await buildDockerfile({
    dockerfile,
    context: dir,
    buildArgs: args.ours ?? {},
    cwd: dir,
    epoch: { sec: 0, nsec: 0 },
    log: () => {},
  });
  const theirs = buildahBuild(scratch, { context: dir, dockerfile, buildArgs: args.theirs });
  expect(snapshotTree(built.tree, { xattrs: true })).toEqual(snapshotDir(theirs.rootfs, { xattrs: true }));
  const ours = JSON.parse(built.config.toString('utf8')).config;
  for (const k of ['Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'ExposedPorts', 'Volumes', 'User'])
    expect(ours[k] || undefined, k).toEqual(theirs.config[k] || undefined);
  return built;
}

describe("the Fledge docs' Dockerfiles against buildah", () => {
  it('the database plugin (postgres:16-alpine), RUN-less: equal to buildah, and the same ext4 bytes twice', async () => {
    const text = `FROM ${registry.host}/postgres:16-alpine

# Install kestrel (adapted: was RUN wget -O … https://get.volantvm.com/… && chmod +x)
ADD --chmod=755 http://127.0.0.1:${port}/kestrel /usr/local/bin/kestrel

# Initialize database on first boot
COPY init.sql /docker-entrypoint-initdb.d/
COPY kestrel-config.yaml /etc/kestrel/config.yaml

# Postgres data directory
VOLUME /var/lib/postgresql/data

EXPOSE 5432
`;
    const dir = context({
      Dockerfile: text,
      'init.sql': 'CREATE TABLE t (id int);\n',
      'kestrel-config.yaml': KESTREL_CONFIG,
    });
    const built = await againstBuildah(dir);
    expect(built.tree.get('usr/local/bin/kestrel')).toMatchObject({ type: 'file', mode: 0o755 });
    put(
      dir,
      'fledge.toml',
      'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./agent"\n\n' +
        '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n',
    );
    put(dir, 'agent', '#!/bin/sh\n', 0o755);
    for (const out of ['a.img', 'b.img']) {
      const r = await runCli(['build', '-q', '-o', out], { cwd: dir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
      expect([r.code, r.stderr]).toEqual([0, '']);
    }
    expect(sha(readFileSync(join(dir, 'a.img')))).toBe(sha(readFileSync(join(dir, 'b.img'))));
    const fsck = execFileSync('e2fsck', ['-fn', join(dir, 'a.img')], { encoding: 'utf8' });
    expect(fsck).toMatch(/clean|files/);
  }, 240_000);

  it('the multi-stage Go build (golang:1.21-alpine → alpine:3.19), RUN-less, with the docs’ .dockerignore', async () => {
    const text = `# Build stage
FROM ${registry.host}/golang:1.21-alpine AS builder
WORKDIR /build
COPY go.mod go.sum ./
# adapted: no Go toolchain offline — \`go mod download\` and \`CGO_ENABLED=0 go build -o /app\`
# are replaced by the binary they would make, from the context
COPY . .
COPY app /app

# Runtime stage
FROM ${registry.host}/alpine:3.19
# adapted: was RUN apk add --no-cache ca-certificates && wget -O /usr/local/bin/kestrel … && chmod +x
ADD --chmod=755 http://127.0.0.1:${port}/kestrel /usr/local/bin/kestrel

COPY --from=builder /app /usr/local/bin/app
COPY kestrel-config.yaml /etc/kestrel/config.yaml

EXPOSE 8080
`;
    const dir = context({
      Dockerfile: text,
      '.dockerignore': '.git\nnode_modules\n*.log\ntest/\ndocs/\n',
      'go.mod': 'module example.com/app\n\ngo 1.21\n',
      'go.sum': '',
      'main.go': 'package main\n\nfunc main() {}\n',
      app: '#!/bin/sh\necho app\n',
      'build.log': 'ignored\n',
      'test/main_test.go': 'package main\n',
      'docs/README.md': '# ignored\n',
      'kestrel-config.yaml': KESTREL_CONFIG,
    });
    const built = await againstBuildah(dir);
    expect(built.tree.get('usr/local/bin/app')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(built.tree.get('build')).toBeUndefined();
  }, 240_000);

  it(
    'the nginx plugin on alpine:3.19, with its RUN (downloads through the build VM’s NAT)',
    async () => {
      const text = `FROM ${registry.host}/alpine:3.19
ARG FILES

# Install NGINX and kestrel agent (adapted: a stand-in nginx and kestrel from the test's server)
RUN wget -O /usr/sbin/nginx http://$FILES/nginx && \\
    wget -O /usr/local/bin/kestrel http://$FILES/kestrel && \\
    chmod +x /usr/local/bin/kestrel /usr/sbin/nginx

# Configure NGINX
COPY nginx.conf /etc/nginx/nginx.conf
COPY index.html /var/www/html/index.html

# Kestrel launches NGINX
COPY kestrel-config.yaml /etc/kestrel/config.yaml

EXPOSE 80
`;
      const dir = context({
        Dockerfile: text,
        'nginx.conf':
          'events {\n    worker_connections 1024;\n}\n\nhttp {\n    server {\n        listen 80;\n' +
          '        root /var/www/html;\n        index index.html;\n    }\n}\n',
        'index.html': '<!DOCTYPE html>\n<html>\n<body>\n<h1>Hello from NGINX on Volant!</h1>\n</body>\n</html>\n',
        'kestrel-config.yaml': KESTREL_CONFIG,
      });
      // the step reaches the host's loopback as 10.0.2.2 (QEMU's NAT); buildah's chroot shares the host's network
      const built = await againstBuildah(dir, {
        ours: { FILES: `10.0.2.2:${port}` },
        theirs: { FILES: `127.0.0.1:${port}` },
      });
      expect(built.tree.get('usr/local/bin/kestrel')).toMatchObject({ type: 'file', mode: 0o755 });
    },
    BOOT_MS * 2,
  );
});
