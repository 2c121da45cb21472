// A deep copy of a tree (new nodes, same content references), hard links kept: a node
// under several names is copied once. Stages start from their base's tree this way, so
// that what one stage does never shows in another.
import { type Node, Tree } from './tree.js';

export function cloneNode(node: Node, copies: Map<Node, Node> = new Map()): Node {
  const seen = copies.get(node);
  if (seen) return seen;
  const copy: Node = { ...node, mtime: { ...node.mtime }, xattrs: new Map(node.xattrs) };
  copies.set(node, copy);
  if (node.entries) copy.entries = new Map([...node.entries].map(([k, child]) => [k, cloneNode(child, copies)]));
  return copy;
}

export function cloneTree(tree: Tree): Tree {
  const out = new Tree();
  const root = cloneNode(tree.root);
  Object.assign(out.root, root);
  return out;
}
