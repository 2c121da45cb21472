// Nodes without xattrs share one read-only empty container (NO_XATTRS) instead of an
// empty Map each (184 bytes a node, a third of the tree): setting an xattr gives that
// node a Map of its own and shows on no other node; copies (clone, wire) keep sharing.
import { describe, expect, it } from 'vitest';
import { cloneNode } from '../../src/tree/clone.js';
import { makeNode, NO_XATTRS, setXattr, Tree } from '../../src/tree/tree.js';
import { decodeTree, encodeTree } from '../../src/tree/wire.js';

describe('the shared empty xattr container', () => {
  it('is shared by new nodes of every type; setting an xattr on one changes only that one', () => {
    const a = makeNode('file');
    const b = makeNode('dir');
    const c = makeNode('symlink', {}, { target: Buffer.from('x') });
    expect(a.xattrs).toBe(NO_XATTRS);
    expect(b.xattrs).toBe(NO_XATTRS);
    expect(c.xattrs).toBe(NO_XATTRS);
    setXattr(a, 'user.one', Buffer.from('1'));
    setXattr(a, 'user.two', Buffer.from('2'));
    expect([...a.xattrs.keys()]).toEqual(['user.one', 'user.two']);
    expect(a.xattrs).not.toBe(NO_XATTRS);
    expect(b.xattrs.size).toBe(0);
    expect(NO_XATTRS.size).toBe(0);
    expect(makeNode('fifo').xattrs.size).toBe(0);
  });

  it('cannot be changed in place', () => {
    expect(() => (NO_XATTRS as Map<string, Uint8Array>).set('user.x', Buffer.from('x'))).toThrow(/setXattr/);
    (NO_XATTRS as Map<string, Uint8Array>).clear();
    expect(NO_XATTRS.size).toBe(0);
  });

  it('a clone shares it when empty and copies a node’s own xattrs', () => {
    const bare = makeNode('file');
    const own = makeNode('file');
    setXattr(own, 'user.x', Buffer.from('x'));
    expect(cloneNode(bare).xattrs).toBe(NO_XATTRS);
    const copy = cloneNode(own);
    setXattr(copy, 'user.y', Buffer.from('y'));
    expect([...own.xattrs.keys()]).toEqual(['user.x']);
    expect([...copy.xattrs.keys()]).toEqual(['user.x', 'user.y']);
  });

  it('the wire decodes nodes without xattrs to it, nodes with xattrs to their own', () => {
    const tree = new Tree();
    setXattr(tree.set('a', makeNode('file')), 'user.a', Buffer.from([0, 255]));
    tree.set('b', makeNode('file'));
    const copy = decodeTree(encodeTree(tree));
    expect(copy.get('b')?.xattrs).toBe(NO_XATTRS);
    expect(copy.root.xattrs).toBe(NO_XATTRS);
    const a = copy.get('a');
    expect(a && Buffer.from(a.xattrs.get('user.a') ?? [])).toEqual(Buffer.from([0, 255]));
    if (a) setXattr(a, 'user.more', Buffer.from('m'));
    expect(copy.get('b')?.xattrs.size).toBe(0);
  });
});
