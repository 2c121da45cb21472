// Dockerfile builds through the command line into the existing pipelines: `[source]
// dockerfile` into an ext4 oci_rootfs (e2fsck-clean, /etc/fsify-entrypoint holding the
// built config, byte-identical twice), a positional Dockerfile into an initramfs (read
// back by bsdtar), --target / --build-arg / --context, and the one-line errors with the
// Dockerfile's line.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import { readContent } from '../src/tree/content.js';
import { project, runCli } from './helpers/cli.js';
import { serveFiles } from './helpers/http.js';
import { writeHardLayout } from './helpers/hard-image.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUSYBOX = readFileSync('/bin/busybox');

/** A base image as an OCI layout inside the project: /etc/passwd and a file. */
function withBase(dir: string): void {
  const root = project({
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:100:101::/app:/bin/sh\n',
    'etc/os-release': 'ID=base\n',
  });
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', 'etc'], {
    cwd: root,
  });
  writeHardLayout(join(dir, 'base'), [tar], 'gzip', 'base', { config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] } });
}

const DOCKERFILE = `ARG FLAVOR=plain
FROM oci:./base:base AS base
ARG FLAVOR
COPY --chown=app hello.txt /app/hello-\${FLAVOR}.txt
COPY <<EOF /app/heredoc.txt
flavor \${FLAVOR}
EOF
WORKDIR /app
ENV GREETING=hi
EXPOSE 8080
ENTRYPOINT ["/app/run"]

FROM base AS other
COPY hello.txt /other.txt
COPY --chmod=755 hello.txt /init
`;

/** fledge.toml for an ext4 oci_rootfs built from ./Dockerfile, the agent a local file. */
function toml(target = ''): string {
  return (
    `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
    `path = "./kestrel"\n\n[source]\ndockerfile = "./Dockerfile"\n` +
    `${target ? `target = "${target}"\n` : ''}build_args = { FLAVOR = "toml" }\n\n[filesystem]\ntype = "ext4"\n`
  );
}

function debugfs(img: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe('fledge-pure build from a Dockerfile', () => {
  it('[source] dockerfile → ext4 oci_rootfs: e2fsck-clean, the built config in /etc/fsify-entrypoint, the same bytes twice', async () => {
    const dir = project({
      'fledge.toml': toml('base'),
      Dockerfile: DOCKERFILE,
      'hello.txt': 'hello\n',
      'kestrel*': '#!/bin/sh\n',
    });
    withBase(dir);
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = await runCli(['build', '-q', '-o', 'a.img'], { cwd: dir, env });
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const b = await runCli(['build', '-q', '-o', 'b.img', '--build-arg', 'FLAVOR=cli'], { cwd: dir, env });
    const c = await runCli(['build', '-q', '-o', 'c.img'], { cwd: dir, env });
    expect(b.code).toBe(0);
    expect(c.code).toBe(0);
    const img = join(dir, 'a.img');
    expect(sha(readFileSync(img))).toBe(sha(readFileSync(join(dir, 'c.img'))));
    const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout).toBe(0);
    const config = JSON.parse(debugfs(img, 'cat /etc/fsify-entrypoint'));
    expect(config.config).toMatchObject({
      Env: ['PATH=/bin', 'GREETING=hi'],
      Entrypoint: ['/app/run'],
      WorkingDir: '/app',
      ExposedPorts: { '8080/tcp': {} },
    });
    expect(config.config.Cmd).toBeUndefined();
    expect(debugfs(img, 'cat /app/hello-toml.txt')).toBe('hello\n');
    expect(debugfs(img, 'cat /app/heredoc.txt')).toBe('flavor toml\n');
    expect(debugfs(img, 'stat /app/hello-toml.txt')).toMatch(/User:\s+100\s+Group:\s+101/);
    expect(debugfs(join(dir, 'b.img'), 'cat /app/hello-cli.txt')).toBe('hello\n');
    expect(debugfs(img, 'cat /bin/kestrel')).toBe('#!/bin/sh\n');
    expect(debugfs(img, 'ls /')).not.toMatch(/other\.txt/);
  });

  it('a positional Dockerfile with --context and --target → initramfs, read back by bsdtar', async () => {
    const dir = project({
      'fledge.toml':
        `version = "1"\nstrategy = "initramfs"\n\n[source]\nbusybox_url = "./busybox"\n` +
        `busybox_sha256 = "${sha(BUSYBOX)}"\n\n[init]\nnone = true\n`,
      busybox: BUSYBOX,
      'df/Dockerfile': DOCKERFILE,
      'ctx/hello.txt': 'from ctx\n',
    });
    withBase(join(dir, 'df'));
    const r = await runCli(
      ['build', '-q', 'df/Dockerfile', '--context', 'ctx', '--target', 'other', '-o', 'out.cpio.gz'],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listing = execFileSync('bsdtar', ['-tvf', join(dir, 'out.cpio.gz')], { encoding: 'utf8' });
    expect(listing).toMatch(/ other\.txt\n/);
    expect(listing).toMatch(/ app\/hello-plain\.txt\n/);
    expect(execFileSync('bsdtar', ['-xOf', join(dir, 'out.cpio.gz'), 'other.txt'], { encoding: 'utf8' })).toBe(
      'from ctx\n',
    );
  });

  it('ADD of a URL: downloaded (0600), --checksum checked, name from the URL', async () => {
    const data = Buffer.from('remote file\n');
    const server = await serveFiles({ '/dir/remote.txt': data });
    const saved = process.env.XDG_CACHE_HOME;
    try {
      process.env.XDG_CACHE_HOME = join(project({}), 'cache');
      const build = (text: string) => {
        const dir = project({ Dockerfile: text });
        return buildDockerfile({
          dockerfile: join(dir, 'Dockerfile'),
          context: dir,
          buildArgs: {},
          cwd: dir,
          epoch: { sec: 0, nsec: 0 },
          log: () => {},
        });
      };
      const url = `${server.url}/dir/remote.txt`;
      const { tree } = await build(
        `FROM scratch\nADD --checksum=sha256:${sha(data)} ${url} /srv/\nADD ${url} /renamed\n`,
      );
      expect(tree.get('srv/remote.txt')).toMatchObject({ type: 'file', mode: 0o600, uid: 0 });
      expect(Buffer.concat([...readContent(tree.get('renamed')!.content!)])).toEqual(data);
      await expect(build(`FROM scratch\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /x\n`)).rejects.toThrow(
        /^Dockerfile:2: ADD: ADD http:.* has sha256 [0-9a-f]{64}, expected 0{64}/,
      );
    } finally {
      process.env.XDG_CACHE_HOME = saved;
      await server.close();
    }
  });

  it('errors are one line with the Dockerfile line and the fix, and leave no artifact', async () => {
    const cases: Array<[string, number, RegExp, string[]?]> = [
      [
        'FROM oci:./base:base\nCOPY missing.txt /x\n',
        2,
        /^fledge-pure: Dockerfile:2: COPY: "missing.txt" does not exist in the build context; check the path \(and \.dockerignore\)\n$/,
      ],
      [
        'FROM oci:./base:base\nCOPY --chown=nobody hello.txt /x\n',
        2,
        /^fledge-pure: Dockerfile:2: COPY: user "nobody" is not in the stage's \/etc\/passwd/,
      ],
      [
        'FROM oci:./base:base\nCOPY hello.txt kestrel /x\n',
        2,
        /^fledge-pure: Dockerfile:2: COPY: with more than one source the destination must be a folder ending in "\/": write \/x\/\n$/,
      ],
      ['FROM oci:./base:base\nFROBNICATE x\n', 2, /^fledge-pure: Dockerfile:2: unknown instruction FROBNICATE/],
      ['FROM oci:./base:base\nENV A="unclosed\n', 2, /^fledge-pure: Dockerfile:2: ENV: unmatched double quote/],
      ['FROM oci:./nothing:here\n', 1, /^fledge-pure: Dockerfile:1: FROM: .*nothing/],
      [
        'FROM oci:./base:base\n',
        2,
        /^fledge-pure: --target nope: no stage has that name in Dockerfile \(no stage is named/,
        ['--target', 'nope'],
      ],
    ];
    for (const [text, code, message, extra] of cases) {
      const dir = project({
        'fledge.toml': toml(),
        Dockerfile: text,
        'hello.txt': 'hello\n',
        'kestrel*': '#!/bin/sh\n',
      });
      withBase(dir);
      const r = await runCli(['build', '-q', ...(extra ?? [])], { cwd: dir });
      expect([r.code, r.stderr], text).toEqual([code, expect.stringMatching(message)]);
      expect(readdirSync(dir).sort()).toEqual(['Dockerfile', 'base', 'fledge.toml', 'hello.txt', 'kestrel']);
    }
  });
});
