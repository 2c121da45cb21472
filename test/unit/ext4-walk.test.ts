// The ext4 writer numbers inodes, and the main thread hashes files, in the order of
// walkNodes (src/ext4/plan.ts), a walk without paths: it must be Tree.walk's order, or
// the UUID and every inode number would change.
import { describe, expect, it } from 'vitest';
import { walkNodes } from '../../src/ext4/plan.js';
import { bytesContent } from '../../src/tree/content.js';
import { makeNode, Tree } from '../../src/tree/tree.js';

const T = { sec: 1700000000, nsec: 0 };

describe('walkNodes', () => {
  it("gives Tree.walk's nodes in Tree.walk's order: nested folders, byte order, a hard link twice", () => {
    const tree = new Tree({ mtime: T });
    const file = (p: string) => tree.set(p, makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(p)) }));
    for (const p of ['z/a', 'b/c/d', 'b/B', 'a', 'b/c/ä', 'b/c/e/f', 'é/x', 'b/c/D']) file(p);
    tree.mkdirp('empty/deeper', { mtime: T });
    const linked = file('m/linked');
    tree.set('b/c/link', linked);
    const walked = [...tree.walk()].map((e) => e.node);
    expect(walked.filter((n) => n === linked)).toHaveLength(2);
    expect([...walkNodes(tree)]).toEqual(walked);
    expect([...walkNodes(tree)].every((n, k) => n === walked[k])).toBe(true);
  });

  it('gives nothing for an empty tree', () => {
    expect([...walkNodes(new Tree({ mtime: T }))]).toEqual([]);
  });
});
