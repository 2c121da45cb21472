// shapeDigest (src/tree/tree.ts), the input of the ext4 and xfs UUIDs and the ext4 htree
// seed: its bytes are fixed by the images already made, so the fast form (paths built in
// place, batched hashing, JSON written out) must hash exactly what the plain definition
// below hashes — path, NUL, JSON of the attributes, target, sorted xattrs — for every
// kind of node, non-UTF-8 names, paths longer than its first path buffer, values larger
// than its batch buffer.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytesContent } from '../../src/tree/content.js';
import { makeNode, setXattr, shapeDigest, Tree } from '../../src/tree/tree.js';

/** The definition, written plainly over Tree.walk(). */
function plainShape(tree: Tree, salt = ''): Buffer {
  const h = createHash('sha256').update(salt);
  for (const { path, node } of tree.walk()) {
    h.update(path).update('\0');
    const rdev = node.type === 'char' || node.type === 'block' ? node.rdev : 0;
    const size = node.type === 'file' ? node.content.size : 0;
    h.update(JSON.stringify([node.type, node.mode, node.uid, node.gid, node.mtime.sec, node.mtime.nsec, size, rdev]));
    if (node.type === 'symlink') h.update(node.target);
    for (const [k, v] of [...node.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) h.update(k).update(v);
  }
  return h.digest();
}

function sample(): Tree {
  const t0 = { sec: 1700000000, nsec: 5 };
  const tree = new Tree({ mode: 0o755, mtime: t0 });
  const hello = tree.set(
    'etc/hello',
    makeNode('file', { mode: 0o640, uid: 7, gid: 9, mtime: t0 }, { content: bytesContent(Buffer.from('hi')) }),
  );
  setXattr(hello, 'user.z', Buffer.from([0, 255]));
  setXattr(hello, 'user.\xe9', Buffer.alloc(100_000, 7)); // a latin1 key above 0x7f; a value over 64 KiB
  setXattr(hello, 'security.capability', Buffer.from('cap'));
  tree.set('bin/hello-link', hello);
  tree.set(Buffer.from([0x64, 0xff, 0x2f, 0x80, 0x01]), makeNode('dir', { mtime: { sec: -5, nsec: 999_999_999 } }));
  tree.set('odd/time', makeNode('file', { mtime: { sec: 1.5, nsec: NaN } }));
  tree.set(
    'odd/huge',
    makeNode('file', { mtime: { sec: 2 ** 40, nsec: 0 } }, { content: { size: 5 * 2 ** 30, pieces: [] } }),
  );
  tree.set('lib/s', makeNode('symlink', { mode: 0o777 }, { target: Buffer.from('../etc/hello') }));
  tree.set('lib/long', makeNode('symlink', {}, { target: Buffer.alloc(70_000, 0x61) }));
  tree.set('dev/null', makeNode('char', { mode: 0o666 }, { rdev: { major: 1, minor: 3 } }));
  tree.set('dev/sda', makeNode('block', {}, { rdev: { major: 8, minor: 2 ** 20 - 1 } }));
  tree.set('run/fifo', makeNode('fifo'));
  tree.set('run/sock', makeNode('socket', { uid: 2 ** 32 - 2 }));
  tree.set('n'.repeat(255), makeNode('file'));
  let deep = 'd';
  for (let k = 0; k < 3000; k++) deep += '/dd';
  tree.set(deep, makeNode('file'));
  return tree;
}

describe('shapeDigest', () => {
  it('hashes what the plain definition hashes, with and without a salt', () => {
    const tree = sample();
    expect(shapeDigest(tree).toString('hex')).toBe(plainShape(tree).toString('hex'));
    expect(shapeDigest(tree, 'xfs').toString('hex')).toBe(plainShape(tree, 'xfs').toString('hex'));
  });

  it('changes with any attribute (the test can tell trees apart)', () => {
    const a = sample();
    const b = sample();
    const s = b.get('run/sock');
    if (s) s.gid = 1;
    expect(shapeDigest(a)).not.toEqual(shapeDigest(b));
    expect(shapeDigest(new Tree())).toEqual(plainShape(new Tree()));
  });
});
