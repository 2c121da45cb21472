// A deep copy of a tree (new nodes, same content references), hard links kept: a node
// under several names is copied once. Stages start from their base's tree this way, so
// that what one stage does never shows in another.
import { copyXattrs, type Node, Tree } from './tree.js';

export function cloneNode<N extends Node>(node: N, copies?: Map<Node, Node>): N;
export function cloneNode(node: Node, copies: Map<Node, Node> = new Map()): Node {
  const seen = copies.get(node);
  if (seen) return seen;
  if (node.type !== 'dir') {
    const copy = { ...node, mtime: { ...node.mtime }, xattrs: copyXattrs(node.xattrs) };
    copies.set(node, copy);
    return copy;
  }
  const entries = new Map<string, Node>();
  const copy = { ...node, mtime: { ...node.mtime }, xattrs: copyXattrs(node.xattrs), entries };
  copies.set(node, copy);
  for (const [k, child] of node.entries) entries.set(k, cloneNode(child, copies));
  return copy;
}

export function cloneTree(tree: Tree): Tree {
  const out = new Tree();
  Object.assign(out.root, cloneNode(tree.root));
  return out;
}
