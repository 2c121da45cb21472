// The qcow2 writer (src/qcow2), checked by QEMU's own tools and by the kernel:
// `qemu-img check` finds no error and no leak, `qemu-img compare` finds the qcow2 equal
// to the raw image it came from, `qemu-img info` reads version 3 with zlib compression,
// `qemu-img map` shows the holes unallocated; and Debian's kernel in QEMU mounts the
// image from `-drive format=qcow2` and lists exactly the tree it was written from.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeExt4 } from '../src/ext4/write.js';
import { writeQcow2 } from '../src/qcow2/write.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { bootDisk, diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-qcow2-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const T = { sec: 1700000000, nsec: 0 };
const CLUSTER = 65536;
let n = 0;

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Bytes no compressor shrinks, the same on every run (a sha256 chain). */
function noise(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  let h = Buffer.from(seed);
  for (let o = 0; o < length; o += 32) {
    h = createHash('sha256').update(h).digest();
    h.copy(out, o);
  }
  return out;
}

/** The hard-case tree plus 400 KiB of noise: compressed clusters beside uncompressed ones. */
function qcowTree(): Tree {
  const tree = hardTree(scratch);
  tree.set('data/noise', makeNode('file', { mtime: T }, { content: bytesContent(noise(400 << 10, 'noise')) }));
  tree.set(
    'bin/busybox',
    makeNode(
      'file',
      { mode: 0o755, mtime: T },
      { content: fileContent('/bin/busybox', statSync('/bin/busybox').size) },
    ),
  );
  tree.mkdirp('lost+found', { mode: 0o700, mtime: T });
  return tree;
}

function ext4Image(tree: Tree): string {
  const path = join(scratch, `raw-${n++}.img`);
  const f = new ArtifactFile(path);
  writeExt4(tree, f, { sizeBufferMb: 0, preallocate: false, epoch: T });
  f.commit();
  return path;
}

async function convert(raw: string, o: { compress: boolean; workers?: number }): Promise<string> {
  const path = join(scratch, `img-${n++}.qcow2`);
  const f = new ArtifactFile(path);
  await writeQcow2(raw, f, o);
  f.commit();
  return path;
}

function qemuImg(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

interface Check {
  'check-errors': number;
  leaks?: number;
  corruptions?: number;
  'compressed-clusters'?: number;
  'allocated-clusters': number;
}

/** qemu-img check clean (exit 0: no errors, no leaks), compare equal, info v3 + zlib; returns check's counts. */
function expectValid(qcow2: string, raw: string): Check {
  const text = qemuImg(['check', qcow2]);
  expect(text.out).toMatch(/No errors were found on the image/);
  expect(text.out).not.toMatch(/leak/i);
  expect(text.status).toBe(0);
  expect(qemuImg(['compare', '-f', 'raw', '-F', 'qcow2', raw, qcow2])).toEqual({
    status: 0,
    out: 'Images are identical.\n',
  });
  const info = JSON.parse(qemuImg(['info', '--output=json', qcow2]).out);
  expect(info['virtual-size']).toBe(statSync(raw).size);
  expect(info['cluster-size']).toBe(CLUSTER);
  expect(info['format-specific'].data).toMatchObject({
    compat: '1.1',
    'compression-type': 'zlib',
    'refcount-bits': 16,
    corrupt: false,
  });
  const check: Check = JSON.parse(qemuImg(['check', '--output=json', qcow2]).out);
  expect([check['check-errors'], check.leaks ?? 0, check.corruptions ?? 0]).toEqual([0, 0, 0]);
  return check;
}

describe('qcow2 writer, checked by qemu-img', () => {
  const tree = qcowTree();
  const raw = ext4Image(tree);

  it('the hard-case ext4 image, compressed: valid, equal to the raw image, smaller; same bytes with 0 or 2 workers', async () => {
    const inline = await convert(raw, { compress: true, workers: 0 });
    const pooled = await convert(raw, { compress: true, workers: 2 });
    expect(sha(pooled)).toBe(sha(inline));
    const check = expectValid(inline, raw);
    // the noise stays uncompressed (qemu-img map reports those clusters at an offset)
    expect(check['compressed-clusters']).toBeGreaterThan(0);
    expect(check['compressed-clusters']).toBeLessThan(check['allocated-clusters']);
    const uncompressed = await convert(raw, { compress: false });
    expect(statSync(inline).size).toBeLessThan(statSync(uncompressed).size);
  });

  it('uncompressed: valid and equal; no compressed cluster; same bytes on a second run', async () => {
    const a = await convert(raw, { compress: false });
    const b = await convert(raw, { compress: false });
    expect(sha(a)).toBe(sha(b));
    expect(expectValid(a, raw)['compressed-clusters'] ?? 0).toBe(0);
  });

  it('the empty tree, compressed and not', async () => {
    const empty = new Tree({ mtime: T });
    empty.mkdirp('lost+found', { mode: 0o700, mtime: T });
    const r = ext4Image(empty);
    for (const compress of [true, false]) expectValid(await convert(r, { compress }), r);
  });

  it('holes and all-zero clusters stay unallocated; a partial last cluster; incompressible clusters stored as they are', async () => {
    const r = join(scratch, 'holes.raw');
    const size = 40 * CLUSTER + 4096;
    const fd = openSync(r, 'w');
    const put = (at: number, b: Buffer) => writeSync(fd, b, 0, b.length, at);
    put(0, Buffer.from('first cluster'));
    put(3 * CLUSTER, noise(2 * CLUSTER, 'a')); // two incompressible clusters
    put(5 * CLUSTER, Buffer.alloc(CLUSTER, 0x41)); // compressible
    put(6 * CLUSTER, Buffer.alloc(CLUSTER)); // written zeros
    put(7 * CLUSTER + 8192, noise(CLUSTER, 'b')); // straddles two clusters, each with 8 KiB of zeros: both shrink
    put(40 * CLUSTER, Buffer.from('tail')); // the partial last cluster
    ftruncateSync(fd, size);
    closeSync(fd);
    for (const compress of [true, false]) {
      const q = await convert(r, { compress, workers: 1 });
      const check = expectValid(q, r);
      expect(check['allocated-clusters']).toBe(7); // 0, 3, 4, 5, 7, 8, 40
      expect(check['compressed-clusters'] ?? 0).toBe(compress ? 5 : 0); // 0, 5, 7, 8, 40
      // uncompressed clusters are the ones qemu-img map gives a host offset for
      const stored = JSON.parse(qemuImg(['map', '--output=json', q]).out).filter(
        (m: { offset?: number }) => m.offset !== undefined,
      );
      expect(stored.map((m: { start: number; length: number }) => [m.start / CLUSTER, m.length / CLUSTER])).toEqual(
        compress
          ? [[3, 2]]
          : [
              [0, 1],
              [3, 3],
              [7, 2],
              [40, 4096 / CLUSTER],
            ],
      );
      const map: { start: number; length: number; data: boolean }[] = JSON.parse(
        qemuImg(['map', '--output=json', q]).out,
      );
      const holes = map.filter((m) => !m.data).map((m) => [m.start / CLUSTER, m.length / CLUSTER]);
      expect(holes).toEqual([
        [1, 2],
        [6, 1],
        [9, 31],
      ]);
    }
  });
});

describe('qcow2 under the kernel', () => {
  it('mounts the compressed hard-case image from -drive format=qcow2 and lists exactly the tree', async () => {
    const tree = qcowTree();
    const raw = ext4Image(tree);
    const image = await convert(raw, { compress: true, workers: 2 });
    const { report } = await bootDisk({
      image,
      format: 'qcow2',
      fstype: 'ext4',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/busybox echo CHROOT-OK`,
    });
    expect(report).not.toContain('MOUNT-FAILED');
    expect(report).toContain('CHROOT-OK');
    const listing = parseListing(report);
    expect(listing.size).toBeGreaterThan(5000);
    expect(diffListings(treeListing(tree), listing)).toEqual([]);
  }, 240_000);
});
