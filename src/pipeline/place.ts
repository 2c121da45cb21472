// Putting a node at a path of a tree the way a copy into a chroot would: the parent
// path resolves through the tree's own symlinks (Debian's /bin → usr/bin) without
// leaving the root, missing parents are created 0755 root-owned, and whatever is at
// the final name is replaced — except that a directory placed on a directory merges.
import { BuildError } from '../errors.js';
import { keyBytes, type Node, type Time, type Tree } from '../tree/tree.js';

export function placeNode(tree: Tree, path: string, node: Node, mtime: Time): Node {
  const keys = tree.resolve(path);
  const name = keys.pop();
  if (name === undefined) throw new BuildError(`cannot place anything at ${path}: it is the root directory`);
  const parentPath = keyBytes(keys.join('/'));
  let parent;
  try {
    parent = tree.mkdirp(parentPath, { mode: 0o755, uid: 0, gid: 0, mtime });
  } catch (e) {
    throw new BuildError(`cannot place ${path}: ${(e as Error).message}`);
  }
  const old = parent.entries!.get(name);
  if (old?.type === 'dir' && node.type === 'dir') return old;
  parent.entries!.set(name, node);
  return node;
}
