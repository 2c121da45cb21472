// `fledge-pure build --output-image`: the built image as an OCI archive and an OCI layout,
// read by the real tools — `skopeo inspect` (containers/image), `umoci unpack` (which
// flattens it back to a folder) — whose flattening must equal our tree (paths, types,
// modes, owners, content, links, xattrs, times); the archive is byte-identical twice.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import { project, runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { snapshotDir, snapshotTree } from './helpers/snapshot.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A base image with users, an xattr and a folder with its own owner (GNU tar, pax). */
function withBase(dir: string): void {
  const root = project({
    'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:100:101::/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napp:x:101:\n',
    'opt/note': 'note\n',
  });
  execFileSync(
    'sh',
    ['-ec', 'mkdir srv && chown 5:6 srv && chmod 750 srv && setfattr -n user.comment -v hello opt/note'],
    { cwd: root },
  );
  const tar = execFileSync(
    'tar',
    [
      '--format=pax',
      '--xattrs',
      '--xattrs-include=*',
      '--sort=name',
      '--numeric-owner',
      '--mtime=@1700000000',
      '-cf',
      '-',
      'etc',
      'opt',
      'srv',
    ],
    { cwd: root },
  );
  writeHardLayout(join(dir, 'base'), [tar], 'gzip', 'base', {
    history: [{ created_by: 'test base layer' }],
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
  });
}

const DOCKERFILE = `FROM oci:./base:base
COPY --chown=app hello.txt /app/hello.txt
COPY files/ /app/files/
ENV GREETING=hi
EXPOSE 8080
CMD ["/app/run"]
`;

const TOML =
  'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n\n' +
  '[source]\ndockerfile = "./Dockerfile"\n\n[filesystem]\ntype = "ext4"\n';

describe('fledge-pure build --output-image', () => {
  it('oci-archive:FILE and oci:DIR: skopeo inspects them, umoci unpacks our tree, the archive is the same bytes twice', async () => {
    const dir = project({
      'fledge.toml': TOML,
      Dockerfile: DOCKERFILE,
      'hello.txt': 'hello\n',
      'files/a': 'a\n',
      'kestrel*': '#!/bin/sh\n',
    });
    withBase(dir);
    linkSync(join(dir, 'files/a'), join(dir, 'files/hard-a'));
    symlinkSync('a', join(dir, 'files/link'));
    mkdirSync(join(dir, 'files/empty'));
    // --no-cache (yargs reads it as --cache=false) changes nothing for a RUN-less build
    for (const [out, image, ...more] of [
      ['1.img', 'oci-archive:one.tar'],
      ['2.img', 'oci-archive:two.tar:app:v1'],
      ['3.img', 'oci:layout', '--no-cache'],
    ]) {
      const r = await runCli(['build', '-q', '-o', out, '--output-image', image, ...more], { cwd: dir });
      expect([r.code, r.stderr]).toEqual([0, '']);
    }
    const again = await runCli(['build', '-q', '-o', '4.img', '--output-image', 'oci-archive:again.tar'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(sha(readFileSync(join(dir, 'again.tar')))).toBe(sha(readFileSync(join(dir, 'one.tar'))));

    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${join(dir, 'two.tar')}:app:v1`], { encoding: 'utf8' }),
    );
    expect(inspect).toMatchObject({ Architecture: 'amd64', Os: 'linux', Env: ['PATH=/bin', 'GREETING=hi'] });
    expect(inspect.Layers).toHaveLength(1);
    const config = JSON.parse(
      execFileSync('skopeo', ['inspect', '--config', `oci:${join(dir, 'layout')}`], { encoding: 'utf8' }),
    );
    expect(config.config).toMatchObject({ Cmd: ['/app/run'], ExposedPorts: { '8080/tcp': {} } });

    // the archive holds the same layout as oci:DIR, and umoci flattens it to our tree
    mkdirSync(join(dir, 'from-archive'));
    execFileSync('bsdtar', ['-xf', join(dir, 'one.tar'), '-C', join(dir, 'from-archive')]);
    expect(execFileSync('diff', ['-r', join(dir, 'from-archive'), join(dir, 'layout')], { encoding: 'utf8' })).toBe('');
    execFileSync('umoci', ['unpack', '--image', `${join(dir, 'layout')}:latest`, join(dir, 'bundle')], {
      stdio: 'pipe',
    });
    const { tree } = await buildDockerfile({
      dockerfile: join(dir, 'Dockerfile'),
      context: dir,
      buildArgs: {},
      cwd: dir,
      epoch: { sec: 0, nsec: 0 },
      log: () => {},
    });
    const opts = { xattrs: true, mtimes: true };
    const theirs = snapshotDir(join(dir, 'bundle/rootfs'), opts);
    expect(snapshotTree(tree, opts)).toEqual(theirs);
    expect(theirs.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        'app/hello.txt',
        'app/files/hard-a',
        'app/files/link',
        'app/files/empty',
        'opt/note',
        'srv',
      ]),
    );
  });

  it('a bad --output-image is one line, before anything is built', async () => {
    const dir = project({
      'fledge.toml': TOML,
      Dockerfile: DOCKERFILE,
      'hello.txt': 'hello\n',
      'kestrel*': '#!/bin/sh\n',
    });
    const bad = await runCli(['build', '-q', '--output-image', 'docker:x'], { cwd: dir });
    expect([bad.code, bad.stderr]).toEqual([
      2,
      "fledge-pure: --output-image docker:x: write oci:DIR or oci-archive:FILE (optionally :REF, the image's name in index.json)\n",
    ]);
  });
});
