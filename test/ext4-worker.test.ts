// The ext4 writer on its own thread, as `build` runs it (src/pipeline/write-rootfs.ts,
// ext4-handoff.ts): the main thread hashes the data for the UUID and the image as the
// worker writes it — each write in place, from the shared buffers — then lets its own
// tree go. The image must be the bytes writeExt4 writes on one thread, and the sha256 it
// reports the file's — with more data than the main thread hashes between two awaits
// (8 MiB) and than the shared buffers hold, so a tree let go too early or a buffer
// handed back too early shows; and with more writes than the ring of write records
// holds (a folder's block between every few files breaks the data into many writes).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import type { FilesystemConfig } from '../src/config/types.js';
import { writeExt4 } from '../src/ext4/write.js';
import { writeRootfs } from '../src/pipeline/write-rootfs.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree } from '../src/tree/tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-ext4-worker-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const T = { sec: 1700000000, nsec: 0 };
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** 40 files of 1 MiB that differ: 40 MiB of data, in folders of 8. */
function bigTree(): Tree {
  const tree = new Tree({ mode: 0o755, mtime: T });
  for (let k = 0; k < 40; k++) {
    const data = Buffer.alloc(1 << 20, k);
    data.write(`file ${k}`);
    tree.set(`d${k % 5}/f${k}`, makeNode('file', { mode: 0o644, mtime: T }, { content: bytesContent(data) }));
  }
  return tree;
}

/** 1 200 files of 1–12 KiB, three to a folder: a folder's block between every three files. */
function smallTree(): Tree {
  const tree = new Tree({ mode: 0o755, mtime: T });
  for (let k = 0; k < 1200; k++) {
    const data = Buffer.alloc(1024 * (1 + (k % 12)), k % 251);
    data.write(`small ${k}`);
    tree.set(
      `s${Math.floor(k / 3)}/f${k}`,
      makeNode('file', { mode: 0o644, mtime: T }, { content: bytesContent(data) }),
    );
  }
  return tree;
}

describe('ext4 written on the worker thread', () => {
  const fs = { type: 'ext4', size_buffer_mb: 0, preallocate: false, disk_format: 'raw' } as FilesystemConfig;

  it.each([
    ['40 files of 1 MiB', bigTree],
    ['1 200 small files, three to a folder', smallTree],
  ])('%s: the one-thread bytes and their sha256, the tree let go during the write', async (name, make) => {
    const worker = await writeRootfs(make(), join(scratch, `worker-${name}.img`), fs, T, undefined, true);
    const one = new ArtifactFile(join(scratch, `one-${name}.img`), { positional: true });
    writeExt4(make(), one, { sizeBufferMb: 0, preallocate: false, epoch: T });
    one.commit();
    expect(sha(join(scratch, `worker-${name}.img`))).toBe(sha(join(scratch, `one-${name}.img`)));
    expect(worker.sha256).toBe(sha(join(scratch, `worker-${name}.img`)));
  });
});
