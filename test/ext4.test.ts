// The ext4 writer, checked by e2fsprogs (e2fsck -fn, debugfs) and by the kernel.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeExt4 } from '../src/ext4/write.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-ext4-'));
let n = 0;

function image(tree: Tree, o: { sizeBufferMb?: number; preallocate?: boolean; epoch?: number } = {}): string {
  const path = join(scratch, `img-${n++}.ext4`);
  const f = new ArtifactFile(path);
  writeExt4(tree, f, { sizeBufferMb: o.sizeBufferMb ?? 0, preallocate: o.preallocate ?? false, epoch: { sec: o.epoch ?? 1700000000, nsec: 0 } });
  f.commit();
  return path;
}

function fsck(path: string): { code: number; out: string } {
  const r = spawnSync('e2fsck', ['-fn', path], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

function debugfs(path: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, path], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
}

describe('ext4 writer', () => {
  it('writes an empty tree e2fsck passes', () => {
    const img = image(new Tree({ mtime: { sec: 1700000000, nsec: 0 } }));
    const r = fsck(img);
    expect(r.out).not.toMatch(/WARNING|error|Fix/i);
    expect(r.code).toBe(0);
  });

  it('writes the hard-case tree e2fsck passes', () => {
    const tree = hardTree(scratch);
    const img = image(tree);
    const r = fsck(img);
    console.log(r.out);
    expect(r.code).toBe(0);
  });
});
