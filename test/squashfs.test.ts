// The squashfs writer, read back by the real tools: unsquashfs (squashfs-tools) and
// rdsquashfs (squashfs-tools-ng) list and extract the image; the extraction is listed
// like the kernel listing of the boot test and compared entry by entry with the tree.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeSquashfs, type SquashfsOptions } from '../src/squashfs/write.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-squashfs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

export async function squash(tree: Tree, o: Partial<SquashfsOptions> = {}): Promise<string> {
  const path = join(scratch, `img-${n++}.sqfs`);
  const f = new ArtifactFile(path);
  await writeSquashfs(tree, f, { level: 15, epoch: { sec: 1234, nsec: 0 }, workers: 2, ...o });
  f.commit();
  return path;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Extracts with unsquashfs (as root: owners, devices and xattrs kept) and lists the result. */
function unsquashListing(img: string): ReturnType<typeof parseListing> {
  const dir = join(scratch, `x-${n++}`);
  execFileSync('unsquashfs', ['-q', '-n', '-d', dir, '-f', img], { stdio: 'pipe' });
  const report = execFileSync('sh', ['-c', LIST_SCRIPT], { cwd: dir, encoding: 'latin1', maxBuffer: 1 << 28 });
  rmSync(dir, { recursive: true, force: true });
  return parseListing(report);
}

function rdsquashListing(img: string): ReturnType<typeof parseListing> {
  const dir = join(scratch, `r-${n++}`);
  execFileSync('rdsquashfs', ['-q', '-u', '/', '-p', dir, '-C', '-O', '-T', '-X', img], { stdio: 'pipe' });
  const report = execFileSync('sh', ['-c', LIST_SCRIPT], { cwd: dir, encoding: 'latin1', maxBuffer: 1 << 28 });
  rmSync(dir, { recursive: true, force: true });
  return parseListing(report);
}

describe('squashfs writer', () => {
  it('writes the hard-case tree so that unsquashfs and rdsquashfs extract it exactly', async () => {
    const tree = hardTree(scratch);
    tree.get('etc/hostname')!.xattrs.set('user.comment', Buffer.from('hello'));
    tree.get('usr/bin/tool')!.xattrs.set('security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
    tree.get('etc')!.xattrs.set('trusted.bin', Buffer.from([0, 1, 2, 255]));
    tree.get('lib/short')!.xattrs.set('trusted.link', Buffer.from('x'));
    const img = await squash(tree);
    const expected = treeListing(tree);
    expect(diffListings(expected, unsquashListing(img))).toEqual([]);
    expect(diffListings(expected, rdsquashListing(img))).toEqual([]);
  });
});
