// Round trip, as a property (fast-check): random trees → our PAX tar writer (src/export)
// → our tar reader (src/oci/tar.ts) and layer applier → the same tree: every path, type,
// mode, owner, nanosecond time, xattr (binary values), content, link target, device
// number and hard link. The tar writer itself is checked against GNU tar and bsdtar in
// the integration layer (test/export-tar.test.ts); this catches the two drifting apart.
// Empty xattr values are left out: a pax record with an empty value deletes the key
// (POSIX pax, "keyword=" with no value), so they do not survive a tar (GNU tar's neither).
// A fixed seed and 150 runs (FUZZ_RUNS / FUZZ_SEED as in test/unit/fuzz.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writePaxTar } from '../../src/export/tar.js';
import { applyLayer } from '../../src/oci/apply.js';
import { readTar } from '../../src/oci/tar.js';
import { bytesContent, readContent } from '../../src/tree/content.js';
import { makeNode, type Node, Tree, setXattr } from '../../src/tree/tree.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const params = {
  numRuns: RUNS,
  seed: process.env.FUZZ_RUNS !== undefined && process.env.FUZZ_SEED === undefined ? undefined : SEED,
};
const scratch = mkdtempSync(join(tmpdir(), 'fp-roundtrip-'));

const name = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .map((b) => Buffer.from(b.map((c) => (c === 0 || c === 0x2f ? 0x61 : c))))
  .filter((b) => b.toString('latin1') !== '.' && b.toString('latin1') !== '..');
const attrs = fc.record({
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
  gid: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
  mtime: fc.record({ sec: fc.integer({ min: 0, max: 2 ** 34 }), nsec: fc.integer({ min: 0, max: 999_999_999 }) }),
});
const xattrs = fc.array(
  fc.tuple(
    fc.constantFrom('user.a', 'user.b', 'security.capability', 'trusted.x'),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
  ),
  { maxLength: 3 },
);
const spec = fc.record({
  dirs: fc.array(name, { maxLength: 2 }),
  name,
  kind: fc.oneof(
    fc.record({ type: fc.constant('file' as const), bytes: fc.uint8Array({ maxLength: 3000 }) }),
    fc.record({ type: fc.constant('dir' as const) }),
    fc.record({
      type: fc.constant('symlink' as const),
      target: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => b.map((c) => c || 1)),
    }),
    fc.record({
      type: fc.constantFrom('char' as const, 'block' as const),
      major: fc.integer({ min: 0, max: 4095 }),
      minor: fc.integer({ min: 0, max: 2 ** 20 - 1 }),
    }),
    fc.record({ type: fc.constant('fifo' as const) }),
    fc.record({ type: fc.constant('hardlink' as const), to: fc.nat() }),
  ),
  attrs,
  xattrs,
});
type Spec = typeof spec extends fc.Arbitrary<infer T> ? T : never;

function buildTree(specs: Spec[]): Tree {
  const tree = new Tree();
  const files: Node[] = [];
  for (const s of specs) {
    const path = Buffer.concat([...s.dirs, s.name].flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));
    const k = s.kind;
    const node =
      k.type === 'hardlink'
        ? files[k.to % Math.max(files.length, 1)]
        : makeNode(
            k.type,
            s.attrs,
            k.type === 'file'
              ? { content: bytesContent(Buffer.from(k.bytes)) }
              : k.type === 'symlink'
                ? { target: k.target }
                : k.type === 'char' || k.type === 'block'
                  ? { rdev: { major: k.major, minor: k.minor } }
                  : {},
          );
    if (!node) continue;
    for (const [key, v] of s.xattrs) setXattr(node, key, v);
    try {
      tree.set(path, node, s.attrs);
    } catch {
      continue; // a non-directory in the way: not in this tree
    }
    if (node.type === 'file') files.push(node);
  }
  return tree;
}

/** One line per path: everything the tar format carries, and which path a hard link shares its node with. */
function listing(tree: Tree): string[] {
  const first = new Map<Node, string>();
  const out: string[] = [];
  for (const { path, node } of tree.walk()) {
    const p = path.toString('hex');
    if (p === '') continue; // the root: a tar has no entry for it
    const x = [...node.xattrs]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`);
    const body = node.content ? Buffer.concat([...readContent(node.content)]).toString('hex') : '';
    const link = first.get(node);
    if (link === undefined) first.set(node, p);
    const what = [
      node.type,
      node.mode.toString(8),
      node.uid,
      node.gid,
      `${node.mtime.sec}.${node.mtime.nsec}`,
      x.join(','),
      body,
      Buffer.from(node.target ?? []).toString('hex'),
      node.rdev ? `${node.rdev.major},${node.rdev.minor}` : '',
    ];
    out.push(`${p} ${link !== undefined ? `link to ${link}` : what.join(' ')}`);
  }
  return out;
}

describe('round trip: PAX tar writer → tar reader', () => {
  it('gives back the tree that was written', () => {
    let n = 0;
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 12 }), (specs) => {
        const tree = buildTree(specs);
        const chunks: Buffer[] = [];
        const skipped = writePaxTar(tree, (c) => chunks.push(Buffer.from(c)));
        expect(skipped).toEqual([]);
        const file = join(scratch, `t${n++ % 8}.tar`);
        writeFileSync(file, Buffer.concat(chunks));
        const back = new Tree();
        applyLayer(back, readTar(file));
        expect(listing(back)).toEqual(listing(tree));
      }),
      params,
    );
  });
});
