// Depth and size costs: a 10 000-deep directory tree goes through every writer and
// the listing without a stack overflow and in linear time; a 64 GiB ext4 (size_buffer_mb
// = 65536) builds and e2fsck finds it clean. Checked with e2fsck, unsquashfs, bsdtar.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdtempSync, openSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImageSink } from '../src/artifact.js';
import { writeNewc } from '../src/cpio/newc.js';
import { writeBtrfs } from '../src/btrfs/write.js';
import { writeExt4 } from '../src/ext4/write.js';
import { writePaxTar } from '../src/export/tar.js';
import { applyLayer } from '../src/oci/apply.js';
import { readTar } from '../src/oci/tar.js';
import { writeSquashfs } from '../src/squashfs/write.js';
import { bytesContent } from '../src/tree/content.js';
import { LimitError } from '../src/tree/limits.js';
import { linkCounts, makeNode, type Node, Tree } from '../src/tree/tree.js';
import { writeXfs } from '../src/xfs/write.js';
import { entry, tarOf } from './helpers/tar-craft.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-deep-'));
const T = { sec: 1700000000, nsec: 0 };
const DEPTH = 10_000;

/** A positional sink over a plain file (no hashing: the tests time the writers alone). */
function sink(path: string): ImageSink & { close(): void } {
  const fd = openSync(path, 'w');
  return {
    writeAt: (c, p) => {
      for (let o = 0; o < c.length;) o += writeSync(fd, c, o, c.length - o, p + o);
    },
    setSize: (n) => ftruncateSync(fd, n),
    close: () => closeSync(fd),
  };
}

/** d/d/d/… DEPTH levels, built node by node (not by path: that alone would be quadratic), a file at the bottom. */
function deepTree(): Tree {
  const t = new Tree({ mtime: T });
  let dir: Node = t.root;
  for (let i = 0; i < DEPTH; i++) {
    const next = makeNode('dir', { mtime: T });
    dir.entries!.set('d', next);
    dir = next;
  }
  dir.entries!.set('bottom', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from('deep\n')) }));
  return t;
}

const timed = async <R>(what: string, limitMs: number, f: () => R | Promise<R>): Promise<R> => {
  const start = Date.now();
  const r = await f();
  expect(Date.now() - start, `${what} took too long`).toBeLessThan(limitMs);
  return r;
};

describe(`a ${DEPTH}-deep directory tree`, () => {
  const tree = deepTree();

  it('walks and counts links without recursion', async () => {
    const walked = await timed('walk', 10_000, () => [...tree.walk()]);
    expect(walked).toHaveLength(DEPTH + 1);
    expect(walked[DEPTH]!.path.length).toBe(2 * DEPTH + 'bottom'.length);
    expect(linkCounts(tree).size).toBe(DEPTH + 2);
  });

  it('ext4: written in seconds, e2fsck clean', async () => {
    const img = join(scratch, 'deep.ext4');
    const out = sink(img);
    await timed('ext4', 30_000, () => writeExt4(tree, out, { sizeBufferMb: 0, preallocate: false, epoch: T }));
    out.close();
    const r = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
  });

  it('xfs: written in seconds, xfs_repair clean', async () => {
    const img = join(scratch, 'deep.xfs');
    const out = sink(img);
    await timed('xfs', 30_000, () => writeXfs(tree, out, { sizeBufferMb: 0, preallocate: false, epoch: T }));
    out.close();
    const r = spawnSync('xfs_repair', ['-n', '-f', img], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('btrfs: written in seconds, btrfs check clean', async () => {
    const img = join(scratch, 'deep.btrfs');
    const out = sink(img);
    await timed('btrfs', 30_000, () => writeBtrfs(tree, out, { sizeBufferMb: 0, preallocate: false, epoch: T }));
    out.close();
    const r = spawnSync('btrfs', ['check', '--readonly', img], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('squashfs: written in seconds; unsquashfs lists the bottom file', async () => {
    const img = join(scratch, 'deep.squashfs');
    const out = sink(img);
    await timed('squashfs', 30_000, () =>
      writeSquashfs(tree, out, { compressor: 'gzip', level: 1, epoch: T, workers: 0 }),
    );
    out.close();
    const list = execFileSync('unsquashfs', ['-l', '-n', img], { encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(list).toContain(`squashfs-root/${'d/'.repeat(DEPTH)}bottom\n`);
  });

  it('tar export: written in seconds; bsdtar lists the bottom file', async () => {
    const parts: Buffer[] = [];
    await timed('tar', 30_000, () => writePaxTar(tree, (c) => parts.push(Buffer.from(c))));
    const list = execFileSync('bsdtar', ['-tf', '-'], {
      input: Buffer.concat(parts),
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    expect(list).toContain(`${'d/'.repeat(DEPTH)}bottom\n`);
  });

  it('initramfs: refused at once, the path being over PATH_MAX', async () => {
    expect(() => writeNewc(tree, () => {})).toThrow(LimitError);
  });
});

describe('applying a deep layer', () => {
  // the input is quadratic in the depth (every entry names its whole path); the
  // applier is linear in it (it was cubic: every component rescanned the path)
  it('1 500 levels (2 MB of pax paths) in linear time', async () => {
    const entries: Buffer[] = [];
    let path = '';
    for (let i = 0; i < 1500; i++) {
      path += 'd/';
      entries.push(entry({ name: 'x', type: '5' }, [['path', path]]));
    }
    const layer = join(scratch, 'deep.tar');
    const fd = openSync(layer, 'w');
    writeSync(fd, tarOf(...entries));
    closeSync(fd);
    const t = new Tree();
    await timed('apply', 20_000, () => applyLayer(t, readTar(layer)));
    expect([...t.walk()]).toHaveLength(1500);
  });
});

describe('a 64 GiB ext4 (size_buffer_mb = 65536)', () => {
  it('builds as a sparse file (the journal gets an extent tree) and e2fsck finds it clean', async () => {
    const tree = new Tree({ mtime: T });
    tree.set('f', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from('hi\n')) }));
    const img = join(scratch, 'big.ext4');
    const out = sink(img);
    await timed('ext4 64 GiB', 30_000, () =>
      writeExt4(tree, out, { sizeBufferMb: 65536, preallocate: false, epoch: T }),
    );
    out.close();
    const st = statSync(img);
    expect(st.size).toBeGreaterThan(64 * 2 ** 30);
    expect(st.blocks * 512).toBeLessThan(64 * 2 ** 20); // sparse: the metadata in use, not the empty inode tables
    const r = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(
      execFileSync('debugfs', ['-R', 'stat <8>', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    ).toMatch(/EXTENTS:\n\(ETB0\)/);
  }, 120_000);
});
