// The tree's byte encoding for the writers' worker thread (src/tree/wire.ts): what comes
// out is the tree that went in — every path (non-UTF-8 names too), type, mode, owner,
// time, xattr, device, link target, content piece (bytes, file regions, holes) — and a
// hard link is still one node under two names.
import { describe, expect, it } from 'vitest';
import { bytesContent, type Content, FileRegion, fileContent } from '../../src/tree/content.js';
import { makeNode, type Node, shapeDigest, Tree, setXattr } from '../../src/tree/tree.js';
import { releaseTree } from '../../src/tree/release.js';
import { decodeTree, encodeTree } from '../../src/tree/wire.js';

function sample(): Tree {
  const t0 = { sec: 1700000000, nsec: 5 };
  const tree = new Tree({ mode: 0o755, mtime: t0 });
  const hello = tree.set(
    'etc/hello',
    makeNode(
      'file',
      { mode: 0o640, uid: 7, gid: 9, mtime: t0 },
      {
        content: bytesContent(Buffer.from('hello\n')),
      },
    ),
  );
  setXattr(hello, 'user.x', Buffer.from([0, 255]));
  tree.set('bin/hello-link', hello);
  tree.set(Buffer.from([0x64, 0xff, 0x2f, 0x80, 0x01]), makeNode('dir', { mtime: { sec: -5, nsec: 999_999_999 } }));
  tree.set(
    'big',
    makeNode(
      'file',
      { mtime: { sec: 2 ** 40, nsec: 0 } },
      {
        content: {
          size: 5 * 2 ** 30,
          pieces: [
            { at: 0, length: 4096, file: '/blobs/é', from: 10 },
            { at: 2 ** 31, length: 3, bytes: Buffer.from('abc') },
            { at: 2 ** 32, length: 10, file: '/blobs/é', from: 2 ** 33 },
          ],
        },
      },
    ),
  );
  tree.set('lib/s', makeNode('symlink', { mode: 0o777 }, { target: Buffer.from('../etc/hello') }));
  tree.set('dev/null', makeNode('char', { mode: 0o666 }, { rdev: { major: 1, minor: 3 } }));
  tree.set('dev/sda', makeNode('block', {}, { rdev: { major: 8, minor: 2 ** 20 - 1 } }));
  tree.set('run/fifo', makeNode('fifo'));
  tree.set('run/sock', makeNode('socket', { uid: 2 ** 32 - 2 }));
  let deep = 'd';
  for (let k = 0; k < 2000; k++) deep += '/d';
  tree.set(deep, makeNode('file'));
  return tree;
}

const pieces = (n: Node | undefined) => (n?.type === 'file' ? n.content : undefined);

describe('tree wire encoding', () => {
  it('decodes to the tree it encoded, hard links as one node', () => {
    const tree = sample();
    const copy = decodeTree(encodeTree(tree));
    expect(shapeDigest(copy)).toEqual(shapeDigest(tree));
    expect([...copy.walk()].map((e) => e.path.toString('latin1'))).toEqual(
      [...tree.walk()].map((e) => e.path.toString('latin1')),
    );
    expect(copy.get('bin/hello-link')).toBe(copy.get('etc/hello'));
    expect(Buffer.from(copy.get('etc/hello')?.xattrs.get('user.x') ?? [])).toEqual(Buffer.from([0, 255]));
    expect(pieces(copy.get('big'))).toEqual(pieces(tree.get('big')));
    expect(pieces(copy.get('etc/hello'))).toEqual(pieces(tree.get('etc/hello')));
  });

  it('an empty tree', () => {
    const tree = new Tree();
    expect(shapeDigest(decodeTree(encodeTree(tree)))).toEqual(shapeDigest(tree));
  });
});

describe('tree wire encoding, memory', () => {
  it('the decoded tree keeps no view of the bytes (the worker lets them go)', () => {
    const tree = sample();
    const bytes = encodeTree(tree);
    const copy = decodeTree(bytes);
    new Uint8Array(bytes).fill(0xee);
    expect(shapeDigest(copy)).toEqual(shapeDigest(tree));
    expect(pieces(copy.get('big'))).toEqual(pieces(tree.get('big')));
  });

  it('is exactly as long as its contents: the same bytes from a second encoding', () => {
    const tree = sample();
    const a = Buffer.from(encodeTree(tree));
    expect(a.readUInt32LE(0)).toBeLessThan(a.length);
    expect(Buffer.from(encodeTree(tree))).toEqual(a);
    // the path table (u32 count, then u32 length + bytes each) ends where the buffer ends
    const table = a.readUInt32LE(0);
    let at = table + 4;
    for (let k = a.readUInt32LE(table); k > 0; k--) at += 4 + a.readUInt32LE(at);
    expect(at).toBe(a.length);
  });

  it('a file that is one region of a file from its first byte decodes to a FileRegion with the same piece', () => {
    const tree = new Tree();
    tree.set('region', makeNode('file', {}, { content: fileContent('/blobs/layer', 5000, 2 ** 33) }));
    tree.set(
      'offset',
      makeNode('file', {}, { content: { size: 10, pieces: [{ at: 4, length: 6, file: '/b', from: 1 }] } }),
    );
    const copy = decodeTree(encodeTree(tree));
    const region = pieces(copy.get('region'));
    expect(region).toBeInstanceOf(FileRegion);
    expect(region?.size).toBe(5000);
    expect(region?.pieces).toEqual([{ at: 0, length: 5000, file: '/blobs/layer', from: 2 ** 33 }]);
    expect(pieces(copy.get('offset'))).toEqual(pieces(tree.get('offset')));
    expect(shapeDigest(copy)).toEqual(shapeDigest(tree));
  });

  it('releaseTree empties the tree, keeping its root', () => {
    const tree = sample();
    const root = tree.root;
    releaseTree(tree);
    expect(tree.root).toBe(root);
    expect(tree.root.entries.size).toBe(0);
    expect([...tree.walk()]).toEqual([]);
  });
});

describe('tree wire encoding, what the ext4 hand-off takes from it', () => {
  it("lists the files in the ext4 writer's inode order: walk order, a hard-linked file at its first name only", () => {
    const tree = sample();
    tree.set('a/second-name', tree.get('etc/hello')!);
    const files: Content[] = [];
    encodeTree(tree, files);
    const walked = [...tree.walk()]
      .map((e) => e.node)
      .filter((n) => n.type === 'file')
      .map((n) => n.content);
    const once = walked.filter((c, k) => walked.indexOf(c) === k);
    expect(once.length).toBeLessThan(walked.length);
    expect(files.length).toBe(once.length);
    expect(files.every((c, k) => c === once[k])).toBe(true);
  });

  it('a tree of several MiB (a field over 1 MiB) decodes to itself', () => {
    const tree = new Tree();
    for (let k = 0; k < 5; k++) {
      const bytes = Buffer.alloc(k === 2 ? 1_500_000 : 700_000, k + 1);
      tree.set(
        `f${k}`,
        makeNode('file', {}, { content: { size: bytes.length, pieces: [{ at: 0, length: bytes.length, bytes }] } }),
      );
    }
    const encoded = encodeTree(tree);
    expect(encoded.byteLength).toBeGreaterThan(4_000_000);
    const copy = decodeTree(encoded);
    const bytesOf = (t: Tree, k: number) => {
      const piece = pieces(t.get(`f${k}`))?.pieces[0];
      return piece && 'bytes' in piece ? Buffer.from(piece.bytes) : Buffer.alloc(0);
    };
    for (let k = 0; k < 5; k++) expect(bytesOf(copy, k).equals(bytesOf(tree, k))).toBe(true);
    expect(shapeDigest(copy)).toEqual(shapeDigest(tree));
  });
});
