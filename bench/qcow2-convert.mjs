#!/usr/bin/env node
// fledge-pure's qcow2 writer (dist/qcow2/write.js, what `build` runs for disk_format =
// "qcow2") over a raw image, as a command the bench can time beside `qemu-img convert`:
//   node bench/qcow2-convert.mjs RAW OUT.qcow2 [--no-compress]
import { availableParallelism } from 'node:os';
import { ArtifactFile } from '../dist/artifact.js';
import { writeQcow2 } from '../dist/qcow2/write.js';

const [raw, out, flag] = process.argv.slice(2);
if (!raw || !out) {
  process.stderr.write('usage: node bench/qcow2-convert.mjs RAW OUT.qcow2 [--no-compress]\n');
  process.exit(2);
}
const file = new ArtifactFile(out);
try {
  await writeQcow2(raw, file, { compress: flag !== '--no-compress', workers: availableParallelism() });
  file.commit();
} catch (e) {
  file.abort();
  process.stderr.write(`qcow2-convert: ${e.message}\n`);
  process.exit(1);
}
