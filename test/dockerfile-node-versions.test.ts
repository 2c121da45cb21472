// A RUN-less Dockerfile builds the same bytes twice and under Node 20, 22 and 24 (the
// issue's "byte-identical twice and under Node 22/24"): COPY with --chown and --chmod,
// ADD of a local tar, ENV/LABEL/WORKDIR, a second stage with COPY --from, written as an
// ext4 artifact, a squashfs artifact and an `--output-image oci-archive:`. The Node 22 and
// 24 binaries are the ones .ci/run installs (test/helpers/node-versions.ts); e2fsck and
// unsquashfs check that what is compared is a real filesystem.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { project, runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { missingNodes, nodeBinary, OTHER_NODES } from './helpers/node-versions.js';

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A base image (OCI layout in the project) with users and groups, and a tar for ADD. */
function withInputs(dir: string): void {
  const root = project({
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:100:101::/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:101:\n',
    'bundle/lib/data.txt': 'data\n',
    'bundle/bin/tool*': '#!/bin/sh\necho tool\n',
  });
  const tar = (...names: string[]) =>
    execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', ...names], { cwd: root });
  writeHardLayout(join(dir, 'base'), [tar('etc')], 'gzip', 'base', { config: { Env: ['PATH=/bin'] } });
  execFileSync('tar', [
    '--sort=name',
    '--owner=7',
    '--group=8',
    '--mtime=@1600000000',
    '-czf',
    join(dir, 'bundle.tgz'),
    '-C',
    join(root, 'bundle'),
    '.',
  ]);
}

const DOCKERFILE = `FROM oci:./base:base AS build
COPY --chown=app:app hello.txt /app/hello.txt
COPY --chmod=750 run.sh /app/run
ADD bundle.tgz /opt/bundle/
ENV GREETING=hi
LABEL org.opencontainers.image.version=1.2.3
WORKDIR /app/data

FROM oci:./base:base
COPY --from=build /app /app
COPY --from=build --chown=5:6 /opt/bundle /opt/bundle
ENV MODE=final
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["/app/run"]
`;

const toml = (type: string) =>
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  `[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "${type}"\n`;

/** Builds the ext4 (with the oci-archive) and the squashfs under one Node; the sha256 of each. */
async function buildAll(dir: string, tag: string, node?: string): Promise<Record<string, string>> {
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  const ext4 = await runCli(
    ['build', '-q', '--config', 'ext4.toml', '-o', `${tag}.img`, '--output-image', `oci-archive:${tag}.tar`],
    { cwd: dir, env, node },
  );
  expect([tag, ext4.code, ext4.stderr]).toEqual([tag, 0, '']);
  const sqfs = await runCli(['build', '-q', '--config', 'squashfs.toml', '-o', `${tag}.squashfs`], {
    cwd: dir,
    env,
    node,
  });
  expect([tag, sqfs.code, sqfs.stderr]).toEqual([tag, 0, '']);
  return Object.fromEntries(['img', 'squashfs', 'tar'].map((ext) => [ext, sha(join(dir, `${tag}.${ext}`))]));
}

describe('a RUN-less Dockerfile build across Node versions', () => {
  it.skipIf(missingNodes().length > 0)(
    'ext4, squashfs and oci-archive: the same bytes twice under Node 20 and under Node 22 and 24',
    async () => {
      const dir = project({
        'ext4.toml': toml('ext4'),
        'squashfs.toml': toml('squashfs'),
        Dockerfile: DOCKERFILE,
        'hello.txt': 'hello\n',
        'run.sh': '#!/bin/sh\necho run\n',
        'kestrel*': '#!/bin/sh\n',
      });
      withInputs(dir);
      const first = await buildAll(dir, 'node20-a');
      expect(await buildAll(dir, 'node20-b')).toEqual(first);
      for (const major of OTHER_NODES) {
        const node = nodeBinary(major);
        expect(execFileSync(node, ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${major}\\.`));
        expect([major, await buildAll(dir, `node${major}`, node)]).toEqual([major, first]);
      }
      const fsck = spawnSync('e2fsck', ['-fn', join(dir, 'node20-a.img')], { encoding: 'utf8' });
      expect(fsck.status, fsck.stdout).toBe(0);
      const listing = execFileSync('unsquashfs', ['-lln', join(dir, 'node20-a.squashfs')], { encoding: 'utf8' });
      expect(listing).toMatch(/-rwxr-x--- 0\/0 .* squashfs-root\/app\/run\n/);
      expect(listing).toMatch(/-rw-r--r-- 100\/101 .* squashfs-root\/app\/hello\.txt\n/);
      expect(listing).toMatch(/-rwxr-xr-x 5\/6 .* squashfs-root\/opt\/bundle\/bin\/tool\n/);
      expect(listing).toMatch(/drwxr-xr-x 0\/0 .* squashfs-root\/app\/data\n/);
    },
    300_000,
  );
});
