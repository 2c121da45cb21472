// What a filesystem format can hold, checked over the whole tree before a writer writes
// its first byte: one walk, and the first entry that does not fit stops the build with
// one line naming the entry, the limit and the format. Each format declares its limits
// as data beside its writer (src/ext4/limits.ts, src/squashfs/limits.ts,
// src/cpio/limits.ts, src/export/limits.ts), with the source of each number.
import { FormatLimitError } from '../errors.js';
import { quoteName } from './quote.js';
import type { Node, Tree } from './tree.js';

export interface FormatLimits {
  /** the format as named in messages, e.g. "ext4" */
  format: string;
  /** bytes of one name (path component) */
  name: number;
  /** bytes of a whole path below the root, when the format has such a limit */
  path?: number;
  /** bytes of a symlink target */
  symlink: number;
  /** names of one non-directory node (hard links) */
  links: number;
  /** bytes of a regular file */
  fileSize: number;
  /** largest uid and gid */
  id: number;
  /** largest device major and minor numbers */
  major: number;
  minor: number;
}

/** An entry the format cannot hold. */
export class LimitError extends FormatLimitError {}

/** Throws a LimitError for the first entry (in walk order) that exceeds a limit. */
export function checkLimits(tree: Tree, l: FormatLimits): void {
  const names = new Map<Node, number>();
  for (const { path, node } of tree.walk()) {
    const fail = (what: string, have: number | string, max: number | string) =>
      new LimitError(
        `${l.format}: /${quoteName(path)}: ${what} ${have}, ${l.format} holds at most ${max}; change the ` +
          `image (rename, shorten or drop the entry) or choose another format`,
      );
    const name = path.length - path.lastIndexOf(0x2f) - 1;
    if (name > l.name) throw fail('name of', `${name} bytes`, `${l.name} bytes`);
    if (l.path !== undefined && path.length > l.path) throw fail('path of', `${path.length} bytes`, `${l.path} bytes`);
    checkNode(node, l, fail);
    if (node.type === 'dir') continue;
    const count = (names.get(node) ?? 0) + 1;
    names.set(node, count);
    if (count > l.links) throw fail('hard link count', count, l.links);
  }
  checkNode(
    tree.root,
    l,
    (what, have, max) =>
      new LimitError(
        `${l.format}: the root directory: ${what} ${have}, ${l.format} holds at most ${max}; change the image or choose another format`,
      ),
  );
}

type Fail = (what: string, have: number | string, max: number | string) => LimitError;

function checkNode(node: Node, l: FormatLimits, fail: Fail): void {
  for (const [what, id] of [
    ['uid', node.uid],
    ['gid', node.gid],
  ] as const)
    if (!Number.isInteger(id) || id < 0 || id > l.id) throw fail(what, id, l.id);
  if (node.type === 'symlink' && node.target.length > l.symlink)
    throw fail('symlink target of', `${node.target.length} bytes`, `${l.symlink} bytes`);
  if (node.type === 'file' && node.content.size > l.fileSize)
    throw fail('file size', `${node.content.size} bytes`, `${l.fileSize} bytes`);
  if (node.type === 'char' || node.type === 'block') {
    const { major, minor } = node.rdev;
    if (!Number.isInteger(major) || major < 0 || major > l.major)
      throw fail(`device ${major}:${minor}: major`, major, l.major);
    if (!Number.isInteger(minor) || minor < 0 || minor > l.minor)
      throw fail(`device ${major}:${minor}: minor`, minor, l.minor);
  }
}
