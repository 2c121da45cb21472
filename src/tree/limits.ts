// What a filesystem format can hold, checked over the whole tree before a writer writes
// its first byte: one walk, and the first entry that does not fit stops the build with
// one line naming the entry, the limit and the format. Each format declares its limits
// as data beside its writer (src/ext4/limits.ts, src/squashfs/limits.ts,
// src/cpio/limits.ts, src/export/limits.ts), with the source of each number.
import { FormatLimitError } from '../errors.js';
import { quoteName } from './quote.js';
import { keyBytes, type Node, type Tree, walkEntries, type WalkFrame } from './tree.js';

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

/**
 * Throws a LimitError for the first entry (in walk order) that exceeds a limit. The walk
 * keeps lengths, not paths: an entry's path is built only for the message of a failure
 * (the check runs on the writer's thread ahead of its first byte, over every entry).
 */
export function checkLimits(tree: Tree, l: FormatLimits): void {
  const names = new Map<Node, number>();
  // each directory level's path length (the root's -1: a name below it starts at 0)
  const lengths = [-1];
  let levels: readonly WalkFrame[] = [];
  const fail: Fail = (what, have, max) =>
    new LimitError(
      `${l.format}: /${quoteName(pathOf(levels))}: ${what} ${have}, ${l.format} holds at most ${max}; change the ` +
        `image (rename, shorten or drop the entry) or choose another format`,
    );
  walkEntries(tree, (node, key, frames) => {
    levels = frames;
    // a key is the name's bytes as latin1: one char a byte
    const length = lengths[frames.length - 1] + 1 + key.length;
    if (key.length > l.name) throw fail('name of', `${key.length} bytes`, `${l.name} bytes`);
    if (l.path !== undefined && length > l.path) throw fail('path of', `${length} bytes`, `${l.path} bytes`);
    checkNode(node, l, fail);
    if (node.type === 'dir') {
      lengths[frames.length] = length;
      return;
    }
    const count = (names.get(node) ?? 0) + 1;
    names.set(node, count);
    if (count > l.links) throw fail('hard link count', count, l.links);
  });
  checkNode(
    tree.root,
    l,
    (what, have, max) =>
      new LimitError(
        `${l.format}: the root directory: ${what} ${have}, ${l.format} holds at most ${max}; change the image or choose another format`,
      ),
  );
}

/** The path of the entry the walk is at: each level's current key. */
function pathOf(frames: readonly WalkFrame[]): Buffer {
  return keyBytes(frames.map((f) => f.keys[f.next - 1]).join('/'));
}

type Fail = (what: string, have: number | string, max: number | string) => LimitError;

function checkNode(node: Node, l: FormatLimits, fail: Fail): void {
  if (!Number.isInteger(node.uid) || node.uid < 0 || node.uid > l.id) throw fail('uid', node.uid, l.id);
  if (!Number.isInteger(node.gid) || node.gid < 0 || node.gid > l.id) throw fail('gid', node.gid, l.id);
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
