#!/usr/bin/env node
// The scale and curve cases' writer process (run by bench/scale-run.mjs and
// bench/curve-run.mjs under /usr/bin/time, so its peak RSS is the tree plus the writer):
// builds a Tree of FILES files (default 200 000), 1000 to a folder — contents are
// regions of one data file, never held in memory, 0 to MAXSIZE − 1 bytes (default 2048)
// — and a SPARSE_GIB sparse file (default 5) with three islands, then writes it with the
// compiled writer (dist/) through writeRootfs, the path `fledge-pure build` takes.
//   node bench/scale.mjs ext4|squashfs OUT DATAFILE [FILES [SPARSE_GIB [MAXSIZE]]]
import { statSync } from 'node:fs';
import { fileContent, makeNode, Tree } from '../dist/index.js';
import { writeRootfs } from '../dist/pipeline/write-rootfs.js';

const [type, out, data, files = '200000', sparseGib = '5', maxSize = '2048'] = process.argv.slice(2);
if (!['ext4', 'squashfs'].includes(type) || !out || !data) {
  process.stderr.write('usage: node bench/scale.mjs ext4|squashfs OUT DATAFILE [FILES [SPARSE_GIB [MAXSIZE]]]\n');
  process.exit(2);
}
const PER_DIR = 1000;
const DIRS = Math.ceil(Number(files) / PER_DIR);
const SPARSE_BYTES = Number(sparseGib) * 2 ** 30;
const MAX_SIZE = Number(maxSize);
const epoch = { sec: 1700000000, nsec: 0 };
const dataSize = statSync(data).size;
const tree = new Tree({ mode: 0o755, mtime: epoch });
for (let d = 0; d < DIRS; d++) {
  const dir = `d${String(d).padStart(3, '0')}`;
  tree.mkdirp(dir, { mode: 0o755, mtime: epoch });
  for (let f = 0; f < Math.min(PER_DIR, Number(files) - d * PER_DIR); f++) {
    const i = d * PER_DIR + f;
    const size = (i * 37) % MAX_SIZE; // 0–2047 bytes by default, about 200 MiB for 200 000 files
    const from = (i * 7919 * 13) % (dataSize - MAX_SIZE);
    tree.set(
      `${dir}/f${String(f).padStart(4, '0')}`,
      makeNode(
        'file',
        { mode: 0o644, uid: i % 3, gid: i % 5, mtime: epoch },
        { content: fileContent(data, size, from) },
      ),
    );
  }
}
const MiB = 2 ** 20;
tree.set(
  'sparse-5g',
  makeNode(
    'file',
    { mode: 0o600, mtime: epoch },
    {
      content: {
        size: SPARSE_BYTES,
        pieces: [
          { at: 0, length: MiB, file: data, from: 0 },
          { at: 2 * 2 ** 30, length: MiB, file: data, from: MiB },
          { at: SPARSE_BYTES - 4096, length: 4096, file: data, from: 0 },
        ],
      },
    },
  ),
);
try {
  const w = await writeRootfs(
    tree,
    out,
    { type, compression_level: 15, overlay_size: '1G', size_buffer_mb: 0, preallocate: false },
    epoch,
    undefined,
    true, // as build does: the tree is emptied once encoded for the ext4 writer's thread
  );
  process.stdout.write(`${w.size} ${w.sha256}\n`);
} catch (e) {
  process.stderr.write(`fledge-pure: ${e.message}\n`);
  process.exit(3);
}
