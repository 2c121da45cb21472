// walkEntries (src/tree/tree.ts), a walk without paths: the ext4 writer numbers inodes in
// its order, checkLimits and shapeDigest follow it; it must be Tree.walk's order, or the
// UUID and every inode number would change.
import { describe, expect, it } from 'vitest';
import { bytesContent } from '../../src/tree/content.js';
import { makeNode, type Node, Tree, walkEntries } from '../../src/tree/tree.js';

const T = { sec: 1700000000, nsec: 0 };

function entries(tree: Tree): { nodes: Node[]; paths: string[] } {
  const nodes: Node[] = [];
  const paths: string[] = [];
  walkEntries(tree, (node, key, frames) => {
    nodes.push(node);
    paths.push(frames.map((f) => f.keys[f.next - 1]).join('/'));
  });
  return { nodes, paths };
}

describe('walkEntries', () => {
  it("gives Tree.walk's nodes in Tree.walk's order: nested folders, byte order, a hard link twice", () => {
    const tree = new Tree({ mtime: T });
    const file = (p: string) => tree.set(p, makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(p)) }));
    for (const p of ['z/a', 'b/c/d', 'b/B', 'a', 'b/c/ä', 'b/c/e/f', 'é/x', 'b/c/D']) file(p);
    tree.mkdirp('empty/deeper', { mtime: T });
    const linked = file('m/linked');
    tree.set('b/c/link', linked);
    const walked = [...tree.walk()].map((e) => e.node);
    expect(walked.filter((n) => n === linked)).toHaveLength(2);
    const { nodes } = entries(tree);
    expect(nodes).toEqual(walked);
    expect(nodes.every((n, k) => n === walked[k])).toBe(true);
  });

  it("names each entry's path through its frames, as Tree.walk gives it", () => {
    const tree = new Tree({ mtime: T });
    for (const p of ['b/c/d', 'a', 'b/c/e/f'])
      tree.set(p, makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(p)) }));
    expect(entries(tree).paths).toEqual([...tree.walk()].map((e) => e.path.toString('latin1')));
  });

  it('gives nothing for an empty tree', () => {
    expect(entries(new Tree({ mtime: T })).nodes).toEqual([]);
  });
});
