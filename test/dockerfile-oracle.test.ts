// Dockerfile builds against the oracle: buildah builds the same Dockerfile from the same
// context and base image (an OCI layout made here by GNU tar, with owners and xattrs),
// pushed to a test registry (docker-registry), umoci unpacks the result, and our tree must equal it — paths, types, modes, owners,
// xattrs, content, link targets, hard links — for COPY/ADD (wildcards, folders, symlinks,
// hard links, --chown by name and number, --chmod, --from a stage, a local tar archive),
// .dockerignore, WORKDIR, USER, ARG/ENV substitution and multi-stage builds.
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import { buildahBuild } from './helpers/buildah.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { push, type Registry, startRegistry } from './helpers/registry.js';
import { snapshotDir, snapshotTree } from './helpers/snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-dockerfile-'));
let savedCache: string | undefined;

function put(root: string, path: string, data: string | Buffer = '', mode = 0o644): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, data);
  chmodSync(p, mode);
}

function sh(cmd: string, cwd: string): Buffer {
  return execFileSync('sh', ['-ec', cmd], { cwd, maxBuffer: 1 << 28 });
}

/** The base image: users and groups, a /bin symlink, xattrs, a folder with its own owner. */
function baseLayout(): string {
  const root = join(scratch, 'base-root');
  put(
    root,
    'etc/passwd',
    'root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n',
  );
  put(root, 'etc/group', 'root:x:0:\nbin:x:1:\nstaff:x:50:\nalicegrp:x:1001:\n');
  put(root, 'usr/bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  symlinkSync('usr/bin', join(root, 'bin'));
  put(root, 'opt/data/cap', 'capable', 0o755);
  put(root, 'opt/data/note', 'note');
  mkdirSync(join(root, 'srv'));
  // chown first: the kernel drops security.capability on chown
  sh('chown 5:5 srv && chmod 700 srv && chown -R 7:8 opt/data', root);
  sh(
    'setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 opt/data/cap && setfattr -n user.comment -v hello opt/data/note',
    root,
  );
  const tar = sh(
    `tar --format=pax --xattrs --xattrs-include='*' --sort=name --numeric-owner --mtime=@1700000000 -cf - .`,
    root,
  );
  const layout = join(scratch, 'base');
  // buildah needs a history entry per layer
  writeHardLayout(layout, [tar], 'gzip', 'base', {
    history: [{ created_by: 'test base layer' }],
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/usr/bin/tool'], OnBuild: ['COPY a.txt /onbuild.txt'] },
  });
  return layout;
}

function contextDir(): string {
  const ctx = join(scratch, 'ctx');
  put(ctx, 'a.txt', 'hello\n');
  put(ctx, 'b.txt', 'b\n', 0o600);
  put(ctx, 'exec.sh', '#!/bin/sh\n', 0o755);
  put(ctx, 'sub/deep/f', 'deep\n');
  chmodSync(join(ctx, 'sub'), 0o700);
  symlinkSync('a.txt', join(ctx, 'link'));
  put(ctx, 'hard1', 'same inode\n');
  linkSync(join(ctx, 'hard1'), join(ctx, 'hard2'));
  put(ctx, 'debug.log', 'ignored');
  put(ctx, 'build/out.o', 'ignored');
  put(ctx, 'build/keep.txt', 'kept by !');
  put(ctx, 'deep/er/x.tmp', 'ignored by **');
  put(ctx, 'deep/er/y.md', 'kept');
  put(ctx, '.dockerignore', '# comment\n*.log\nbuild\n!build/keep.txt\n**/*.tmp\n');
  const arch = join(scratch, 'arch');
  put(arch, 'etc/app.conf', 'conf\n');
  put(arch, 'bin/run', 'run\n', 0o750);
  sh('chown -R 123:456 etc && tar --numeric-owner --sort=name -czf ../ctx/arch.tar.gz etc bin', arch);
  return ctx;
}

const DOCKERFILE = (base: string) => `# syntax=docker/dockerfile:1
ARG BASE=${base}
FROM \${BASE} AS base
ARG DIR=sub
ENV APP=/app \\
    EMPTY=
COPY a.txt /new/dir/
COPY --chown=alice sub /dst/
COPY --chown=bin:staff --chmod=640 b.txt /x
COPY --chown=1000 exec.sh /y/
COPY --chown=1000:50 sub /owned/by/alice/
COPY $DIR/deep \${APP}/deep-copy
COPY \${EMPTY:-a}.txt \${EMPTY:+nothing}/plain-\${APP:+set}
COPY *.txt /txt/
COPY . /ctx/
COPY link /l
COPY ["hard1", "hard2", "/hard/"]
ADD arch.tar.gz /arch/
COPY a.txt /srv/
COPY sub /srv/
COPY a.txt /bin/through-symlink
WORKDIR /w/x
USER alice
WORKDIR /w2
COPY a.txt rel/
USER 0

FROM scratch AS unused
COPY does-not-exist /

FROM base AS final
COPY --from=base /opt /opt2
COPY --from=0 /usr/bin/tool /bin/tool2
LABEL org.example.name="two words" other=\${APP}
EXPOSE 80 53/udp
ENV PATH=/opt/bin:$PATH
ENTRYPOINT ["/usr/bin/tool"]
CMD serve $APP
VOLUME /data ["/cache"]
STOPSIGNAL SIGTERM
WORKDIR relative/dir
USER alice:staff
`;

let base: string;
let ctx: string;
let registry: Registry;

beforeAll(async () => {
  savedCache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  registry = await startRegistry();
  base = `${registry.host}/base:1`;
  await push(baseLayout(), 'base', base);
  ctx = contextDir();
});
afterAll(async () => {
  await registry?.stop();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

async function both(dockerfile: string, o: { target?: string; buildArgs?: Record<string, string> } = {}) {
  const file = join(scratch, `Dockerfile.${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, dockerfile);
  const ours = await buildDockerfile({
    dockerfile: file,
    context: ctx,
    target: o.target,
    buildArgs: o.buildArgs ?? {},
    cwd: scratch,
    epoch: { sec: 0, nsec: 0 },
    log: () => {},
  });
  const theirs = buildahBuild(scratch, { context: ctx, dockerfile: file, target: o.target, buildArgs: o.buildArgs });
  return { ours, theirs };
}

describe('Dockerfile builds equal buildah', () => {
  it('COPY, ADD, .dockerignore, WORKDIR, USER, --chown, --chmod, --from, multi-stage', async () => {
    const { ours, theirs } = await both(DOCKERFILE(base));
    const expected = snapshotDir(theirs.rootfs, { xattrs: true });
    const got = snapshotTree(ours.tree, { xattrs: true });
    expect(got).toEqual(expected);
    // the cases are really there (so that a shared mistake cannot pass)
    const at = new Map(got.map((e) => [e.path, e]));
    for (const p of [
      'arch/etc/app.conf',
      'ctx/build/keep.txt',
      'ctx/deep/er/y.md',
      'opt2/data/cap',
      'usr/bin/tool2',
      'usr/bin/through-symlink',
      'w2/rel/a.txt',
      'app/deep-copy/f',
      'plain-set',
    ])
      expect(at.has(p), p).toBe(true);
    for (const p of ['ctx/debug.log', 'ctx/build/out.o', 'ctx/deep/er/x.tmp', 'does-not-exist'])
      expect(at.has(p), p).toBe(false);
    expect(at.get('arch/etc/app.conf')).toMatchObject({ uid: 123, gid: 456 });
    expect(at.get('w2')).toMatchObject({ uid: 1000, gid: 1001 });
    expect(at.get('x')).toMatchObject({ uid: 1, gid: 50, mode: '640' });
    expect(at.get('opt2/data/cap')?.xattrs?.['security.capability']).toBe('0100000200200000000000000000000000000000');
    // the config, as buildah writes it; a re-set variable keeps its place in Env as in
    // BuildKit (buildah moves it to the end), so Env is compared as a set
    const c = ours.image.config;
    expect([...c.Env!].sort()).toEqual([...(theirs.config.Env as string[])].sort());
    for (const k of [
      'Entrypoint',
      'Cmd',
      'WorkingDir',
      'User',
      'Labels',
      'ExposedPorts',
      'Volumes',
      'StopSignal',
    ] as const)
      expect(c[k], k).toEqual(theirs.config[k]);
  });
});
