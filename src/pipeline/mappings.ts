// [mappings]: host files and folders copied into the tree, with Fledge's FHS modes
// (fledge internal/builder/mapping.go): directories 0755; a file with any execute bit
// gets x wherever it has r; else 0755 under the bin folders, 0755 for shared libraries
// under the lib folders, else 0644. Owner root:root; mtime the build's epoch.
// One addition: a file mapped to /init is 0755, as Fledge gives [init] path (seed 004:
// "[init] path = ./my-init" plus "./my-init" = "/init"; the kernel runs /init, so it must
// be executable whatever the host file's mode).
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { Mapping } from '../config/types.js';
import { BuildError } from '../errors.js';
import { fileContent } from '../tree/content.js';
import { makeNode, type Time, type Tree } from '../tree/tree.js';

const BIN_DIRS = [
  '/bin/',
  '/sbin/',
  '/usr/bin/',
  '/usr/sbin/',
  '/usr/local/bin/',
  '/usr/local/sbin/',
  '/opt/bin/',
  '/opt/sbin/',
];
const LIB_DIRS = ['/lib/', '/lib64/', '/usr/lib/', '/usr/lib64/', '/usr/local/lib/', '/usr/local/lib64/'];

/** The mode Fledge gives a mapped file, from its host mode and its destination. */
export function fhsMode(hostMode: number, destination: string): number {
  const perm = hostMode & 0o777;
  if (perm & 0o111) return perm | ((perm & 0o444) >> 2);
  if (destination === '/init' || BIN_DIRS.some((d) => destination.startsWith(d))) return 0o755;
  const base = posix.basename(destination);
  const isLib = base.endsWith('.so') || base.includes('.so.');
  if (isLib && LIB_DIRS.some((d) => destination.startsWith(d))) return 0o755;
  return 0o644;
}

function copyInto(tree: Tree, source: string, destination: string, mtime: Time): void {
  const st = lstatSync(source);
  const attrs = { mtime, uid: 0, gid: 0 };
  if (st.isDirectory()) {
    tree.place(destination, makeNode('dir', { ...attrs, mode: 0o755 }), mtime);
    for (const name of readdirSync(source).sort())
      copyInto(tree, join(source, name), posix.join(destination, name), mtime);
  } else if (st.isFile()) {
    const node = makeNode(
      'file',
      { ...attrs, mode: fhsMode(st.mode, destination) },
      { content: fileContent(source, st.size) },
    );
    tree.place(destination, node, mtime);
  } else if (st.isSymbolicLink()) {
    const node = makeNode(
      'symlink',
      { ...attrs, mode: 0o777 },
      { target: Buffer.from(readlinkSync(source, 'buffer')) },
    );
    tree.place(destination, node, mtime);
  } else {
    throw new BuildError(`mappings: ${source} is neither a file, a folder nor a symlink; map regular files only`);
  }
}

export function applyMappings(tree: Tree, mappings: Mapping[], mtime: Time): void {
  for (const m of mappings) {
    try {
      lstatSync(m.source);
    } catch {
      throw new BuildError(
        `mappings: ${m.source} (mapped to ${m.destination}) does not exist; fix [mappings] in fledge.toml`,
      );
    }
    copyInto(tree, m.source, m.destination, mtime);
  }
}
