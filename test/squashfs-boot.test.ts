// The kernel mounts what the squashfs writer writes, with zstd and with lz4 blocks:
// Debian's kernel in QEMU mounts the image from /dev/vda and lists every entry (stat,
// sha256sum, readlink, getfattr); the listing must equal the tree's. A chroot into the image runs its own static busybox.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeSquashfs } from '../src/squashfs/write.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, setXattr } from '../src/tree/tree.js';
import { bootDisk, diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-sqboot-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function mountAndList(compressor: 'zstd' | 'lz4'): Promise<void> {
  const t = { sec: 1700000000, nsec: 0 };
  const tree = hardTree(scratch);
  tree.set(
    'bin/busybox',
    makeNode(
      'file',
      { mode: 0o755, mtime: t },
      { content: fileContent('/bin/busybox', statSync('/bin/busybox').size) },
    ),
  );
  tree.set('bin/sh', makeNode('symlink', { mode: 0o777, mtime: t }, { target: Buffer.from('busybox') }));
  setXattr(tree.get('etc/hostname')!, 'user.comment', Buffer.from('hello'));
  setXattr(
    tree.get('usr/bin/tool')!,
    'security.capability',
    Buffer.from('0100000200200000000000000000000000000000', 'hex'),
  );
  setXattr(tree.get('etc')!, 'trusted.bin', Buffer.from([0, 1, 2, 255]));
  // several blocks with a tail, a copy (dedup), a file of zeros (sparse blocks)
  const big = Buffer.from(Array.from({ length: 50000 }, (_, i) => `line ${i}\n`).join(''));
  tree.set('data/big', makeNode('file', { mtime: t }, { content: bytesContent(big) }));
  tree.set('data/big-copy', makeNode('file', { mtime: t }, { content: bytesContent(big) }));
  tree.set('data/zeros', makeNode('file', { mtime: t }, { content: bytesContent(Buffer.alloc(600000)) }));
  const image = join(scratch, `root-${compressor}.squashfs`);
  const f = new ArtifactFile(image);
  await writeSquashfs(tree, f, { compressor, level: compressor === 'lz4' ? 1 : 15, epoch: t });
  f.commit();
  const { report } = await bootDisk({
    image,
    fstype: 'squashfs',
    script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c "echo CHROOT-OK"`,
  });
  expect(report).toContain('CHROOT-OK');
  expect(report).not.toContain('MOUNT-FAILED');
  const listing = parseListing(report);
  expect(listing.size).toBeGreaterThan(5000);
  expect(diffListings(treeListing(tree), listing)).toEqual([]);
}

describe('squashfs under the kernel', () => {
  it('mounts, lists exactly like the tree, and chroots into it', () => mountAndList('zstd'));
  it('the same with lz4 blocks', () => mountAndList('lz4'));
});
