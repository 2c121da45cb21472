// Flattening is exact: the tree we build from an image equals what `umoci unpack`
// (as root) extracts from the same image — paths, types, modes, owners, sizes,
// content, link targets, hard links, devices, xattrs — from an OCI layout (gzip, zstd
// and plain layers), an oci-archive, and a docker-archive written by skopeo.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flatten } from '../src/oci/image.js';
import { openImage } from '../src/oci/sources/open.js';
import { hardLayers, writeHardLayout } from './helpers/hard-image.js';
import { push, startRegistry } from './helpers/registry.js';
import { type Entry, snapshotDir, snapshotTree } from './helpers/snapshot.js';
import { skopeoEnv } from './helpers/skopeo.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-flatten-'));
let layers: Buffer[];
let umoci: Entry[];
let savedCache: string | undefined;

async function flat(source: string) {
  return flatten(await openImage(source));
}

beforeAll(() => {
  savedCache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  layers = hardLayers();
  for (const c of ['gzip', 'zstd', 'none'] as const) writeHardLayout(join(scratch, c), layers, c);
  execFileSync('umoci', ['unpack', '--image', `${join(scratch, 'gzip')}:hard`, join(scratch, 'bundle')], {
    stdio: 'pipe',
  });
  umoci = snapshotDir(join(scratch, 'bundle/rootfs'), { xattrs: true, mtimes: true });
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

describe('flattening', () => {
  it('has the hard cases where they should be (so that a shared mistake cannot pass)', async () => {
    const tree = await flat(`oci:${join(scratch, 'gzip')}:hard`);
    const paths = new Set(snapshotTree(tree).map((e) => e.path));
    for (const gone of [
      'etc/remove-me',
      'var/cache/a',
      'var/cache/b',
      'opaque/old1',
      'opaque/sub',
      'becomes-file/child',
    ])
      expect(paths.has(gone)).toBe(false);
    for (const kept of ['var/cache/new', 'opaque/new', 'usr/sbin/tool-link', 'dev/tty0', 'run-fifo', 'big/f4999'])
      expect(paths.has(kept)).toBe(true);
    expect(tree.get('becomes-file')?.type).toBe('file');
    expect(tree.get('usr/sbin/tool-link')).toBe(tree.get('usr/bin/tool'));
    expect(Buffer.from(tree.get('etc/motd')!.xattrs.get('user.comment')!).toString()).toBe('héllo=world');
    expect(Buffer.from(tree.get('usr/bin/ping')!.xattrs.get('security.capability')!).toString('hex')).toBe(
      '0100000200200000000000000000000000000000',
    );
    expect(tree.get('sparse')!.content!.pieces.length).toBeLessThan(3);
    expect(tree.get('big')!.entries!.size).toBe(5000);
  });

  for (const c of ['gzip', 'zstd', 'none']) {
    it(`equals umoci unpack for an OCI layout with ${c} layers`, async () => {
      expect(snapshotTree(await flat(`oci:${join(scratch, c)}:hard`), { xattrs: true, mtimes: true })).toEqual(umoci);
    });
  }

  it('equals umoci unpack for an oci-archive', async () => {
    const archive = join(scratch, 'image.oci.tar');
    execFileSync('tar', ['-cf', archive, '-C', join(scratch, 'gzip'), '.']);
    expect(snapshotTree(await flat(`oci-archive:${archive}:hard`), { xattrs: true, mtimes: true })).toEqual(umoci);
  });

  it('equals umoci unpack for a docker-archive written by skopeo', async () => {
    const archive = join(scratch, 'docker.tar');
    execFileSync(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--quiet',
        `oci:${join(scratch, 'gzip')}:hard`,
        `docker-archive:${archive}:example.com/hard:v1`,
      ],
      { stdio: 'pipe', env: skopeoEnv() },
    );
    expect(snapshotTree(await flat(`docker-archive:${archive}`), { xattrs: true, mtimes: true })).toEqual(umoci);
    expect(
      snapshotTree(await flat(`docker-archive:${archive}:example.com/hard:v1`), { xattrs: true, mtimes: true }),
    ).toEqual(umoci);
  });

  it('equals umoci unpack when pulled from a real registry: OCI gzip, OCI zstd, Docker v2s2', async () => {
    const registry = await startRegistry();
    try {
      await push(join(scratch, 'gzip'), 'hard', `${registry.host}/hard:oci-gzip`);
      await push(join(scratch, 'zstd'), 'hard', `${registry.host}/hard:oci-zstd`);
      await push(join(scratch, 'gzip'), 'hard', `${registry.host}/hard:v2s2`, ['--format', 'v2s2']);
      for (const tag of ['oci-gzip', 'oci-zstd', 'v2s2']) {
        expect(
          snapshotTree(await flat(`docker://${registry.host}/hard:${tag}`), { xattrs: true, mtimes: true }),
        ).toEqual(umoci);
      }
    } finally {
      await registry.stop();
    }
  });

  it('says in one line what is wrong with a bad source', async () => {
    await expect(openImage(`oci:${join(scratch, 'gzip')}:nope`)).rejects.toThrow(
      /no image named "nope" in index.json \(it has: hard\)/,
    );
    await expect(openImage(`oci:${join(scratch, 'missing')}`)).rejects.toThrow(/not a folder/);
    process.env.DOCKER_HOST = `unix://${join(scratch, 'no.sock')}`;
    await expect(openImage(`docker-daemon:alpine`)).rejects.toThrow(/^docker-daemon:alpine: no docker daemon socket/);
    delete process.env.DOCKER_HOST;
  });

  it('refuses a hard link stored before its target in the same layer, as umoci unpack does', async () => {
    // GNU tar writes the target first; dropping it and appending it again puts the link first
    const d = mkdtempSync(join(scratch, 'early-'));
    mkdirSync(join(d, 'etc'));
    writeFileSync(join(d, 'etc/target'), 'hello\n');
    linkSync(join(d, 'etc/target'), join(d, 'etc/link'));
    const tar = join(scratch, 'early.tar');
    execFileSync('tar', ['--format=pax', '--no-recursion', '--mtime=@0', '-cf', tar, 'etc', 'etc/target', 'etc/link'], {
      cwd: d,
    });
    const inOrder = execFileSync('cat', [tar]);
    execFileSync('tar', ['--delete', '-f', tar, 'etc/target']);
    execFileSync('tar', ['--format=pax', '--no-recursion', '--mtime=@0', '-rf', tar, 'etc/target'], { cwd: d });
    expect(execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' })).toMatch(
      /^d.* etc\/\nh.* etc\/link link to etc\/target\n-.* etc\/target\n$/,
    );
    writeHardLayout(join(scratch, 'early'), [execFileSync('cat', [tar])], 'gzip', 'early');
    writeHardLayout(join(scratch, 'in-order'), [inOrder], 'gzip', 'in-order');

    // the same entries with the target first: umoci unpacks them and we agree
    execFileSync(
      'umoci',
      ['unpack', '--image', `${join(scratch, 'in-order')}:in-order`, join(scratch, 'in-order-bundle')],
      { stdio: 'pipe' },
    );
    const tree = await flat(`oci:${join(scratch, 'in-order')}:in-order`);
    expect(snapshotTree(tree, { xattrs: true, mtimes: true })).toEqual(
      snapshotDir(join(scratch, 'in-order-bundle/rootfs'), { xattrs: true, mtimes: true }),
    );
    expect(tree.get('etc/link')).toBe(tree.get('etc/target'));

    // link first: umoci's os.Link finds no target
    let umociError = '';
    try {
      execFileSync('umoci', ['unpack', '--image', `${join(scratch, 'early')}:early`, join(scratch, 'early-bundle')], {
        stdio: 'pipe',
      });
    } catch (e) {
      umociError = String((e as { stderr: Buffer }).stderr);
    }
    expect(umociError).toMatch(/etc\/link: link: no such file or directory/);
    await expect(flat(`oci:${join(scratch, 'early')}:early`)).rejects.toThrow(
      /layer 1 of 1 \(sha256:[0-9a-f]{64}\): entry "etc\/link" \(at byte \d+\): hard link target "etc\/target" does not exist in a lower layer or earlier in this one; rebuild/,
    );
  });
});
