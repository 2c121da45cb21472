// Layer application, checked on layers written by GNU tar: each layer is a staging
// folder archived with the members in the order given (--no-recursion), so the
// position of whiteouts and opaque markers is exact.
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../src/oci/apply.js';
import { readTar } from '../src/oci/tar.js';
import { readContent } from '../src/tree/content.js';
import { Tree } from '../src/tree/tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-apply-'));
let n = 0;

type Spec = Record<string, string | { dir: true; mode?: number } | { symlink: string } | { hardlink: string }>;

/**
 * A layer: `spec` is created in a fresh folder (parents as needed), then GNU tar
 * archives `members` in that order (default: the spec's keys). Names ending in "/" are
 * directories. Hard links whose target is not a member are dropped with `tar --delete`,
 * which leaves the link entry pointing into a lower layer.
 */
function layer(spec: Spec, members = Object.keys(spec), extra: string[] = []): string {
  const d = join(scratch, `l${n++}`);
  mkdirSync(d);
  const lower: string[] = [];
  for (const [name, what] of Object.entries(spec)) {
    const p = join(d, name);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof what === 'string') writeFileSync(p, what);
    else if ('dir' in what) {
      mkdirSync(p, { recursive: true });
      if (what.mode !== undefined) chmodSync(p, what.mode);
    } else if ('symlink' in what) symlinkSync(what.symlink, p);
    else {
      const target = join(d, what.hardlink);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, 'lower');
      linkSync(target, p);
      if (!(what.hardlink in spec)) lower.push(what.hardlink);
    }
  }
  const out = join(scratch, `l${n++}.tar`);
  execFileSync('tar', ['--format=pax', '--no-recursion', '-P', ...extra, '-cf', out, ...lower, ...members], { cwd: d });
  if (lower.length)
    execFileSync('tar', ['-P', ...extra, '--delete', '-f', out, ...lower.map((l) => (extra.length ? '/' + l : l))]);
  return out;
}

function apply(...layers: string[]): Tree {
  const tree = new Tree();
  for (const l of layers) applyLayer(tree, readTar(l));
  return tree;
}

/** The tree as "path type [content|target]" lines. */
function list(tree: Tree): string[] {
  return [...tree.walk()].map(({ path, node }) => {
    const tail =
      node.type === 'file'
        ? ' ' + Buffer.concat([...readContent(node.content!)]).toString()
        : node.type === 'symlink'
          ? ' -> ' + Buffer.from(node.target!).toString()
          : '';
    return `${path.toString()} ${node.type}${tail}`;
  });
}

const dir = { dir: true } as const;

describe('applyLayer', () => {
  it('builds the tree of one layer; missing parents are root:root 0755 at time 0', () => {
    const t = apply(
      layer({ 'etc/': dir, 'etc/hosts': 'h', 'bin/sh': { symlink: 'busybox' } }, ['etc/', 'etc/hosts', 'bin/sh']),
    );
    expect(list(t)).toEqual(['bin dir', 'bin/sh symlink -> busybox', 'etc dir', 'etc/hosts file h']);
    const bin = t.get('bin')!;
    expect([bin.mode, bin.uid, bin.gid, bin.mtime]).toEqual([0o755, 0, 0, { sec: 0, nsec: 0 }]);
    expect(t.get('etc')!.mtime.sec).toBeGreaterThan(0); // listed: its own time
  });

  it('applies the root entry to the root only', () => {
    const l = layer({ './': { dir: true, mode: 0o750 }, a: 'a' }, ['./', './a']);
    const t = apply(l);
    expect(t.root.mode).toBe(0o750);
    expect(list(t)).toEqual(['a file a']);
  });

  it('removes a file whited out by a later layer, and only it', () => {
    const t = apply(layer({ 'etc/a': 'a', 'etc/b': 'b' }), layer({ 'etc/.wh.a': '' }));
    expect(list(t)).toEqual(['etc dir', 'etc/b file b']);
  });

  it('removes a whited-out directory with everything below it', () => {
    const t = apply(layer({ 'd/x': 'x', 'd/sub/y': 'y', keep: 'k' }), layer({ '.wh.d': '' }));
    expect(list(t)).toEqual(['keep file k']);
  });

  it('does not let a whiteout remove what its own layer put there', () => {
    const t = apply(layer({ 'd/f': 'lower', 'd/g': 'g' }), layer({ 'd/f': 'upper', 'd/.wh.f': '', 'd/.wh.g': '' }));
    expect(list(t)).toEqual(['d dir', 'd/f file upper']);
  });

  it('opaque marker before its siblings hides the lower children', () => {
    const lower = layer({ 'd/old1': '1', 'd/old2': '2', 'e/keep': 'k' });
    const upper = layer({ 'd/': dir, 'd/.wh..wh..opq': '', 'd/new': 'n' });
    expect(list(apply(lower, upper))).toEqual(['d dir', 'd/new file n', 'e dir', 'e/keep file k']);
  });

  it('opaque marker after its siblings hides the lower children, not this layer’s', () => {
    const lower = layer({ 'd/old': 'o', 'd/sub/z': 'z' });
    const upper = layer({ 'd/': dir, 'd/new': 'n', 'd/sub/': dir, 'd/sub/w': 'w', 'd/.wh..wh..opq': '' });
    expect(list(apply(lower, upper))).toEqual(['d dir', 'd/new file n', 'd/sub dir', 'd/sub/w file w']);
  });

  it('takes only the exact opaque name: .wh..wh..opqX hides nothing', () => {
    const t = apply(layer({ 'd/old': 'o' }), layer({ 'd/.wh..wh..opqX': '' }));
    expect(list(t)).toEqual(['d dir', 'd/old file o']);
  });

  it('rejects a bare .wh. and whiteouts of "." and ".."', () => {
    expect(() => apply(layer({ 'd/.wh.': '' }))).toThrow(/"d\/\.wh\.".*invalid whiteout \(it names nothing\)/);
    expect(() => apply(layer({ 'd/.wh..': '' }))).toThrow(/invalid whiteout \(it names "\."\)/);
    expect(() => apply(layer({ 'd/.wh...': '' }))).toThrow(/invalid whiteout \(it names "\.\."\)/);
  });

  it('replaces a directory by a file, a file by a directory, a symlink by a directory', () => {
    const lower = layer({ 'x/y': 'y', f: 'f', s: { symlink: 'x' } });
    const upper = layer({ x: 'now a file', 'f/': dir, 'f/in': 'i', 's/': dir }, ['x', 'f/', 'f/in', 's/']);
    expect(list(apply(lower, upper))).toEqual(['f dir', 'f/in file i', 's dir', 'x file now a file']);
  });

  it('merges a directory over a directory: new metadata, children kept', () => {
    const lower = layer({ 'd/': { dir: true, mode: 0o755 }, 'd/keep': 'k' }, ['d/', 'd/keep']);
    const upper = layer({ 'd/': { dir: true, mode: 0o700 } }, ['d/'], ['--owner=5', '--group=6']);
    const t = apply(lower, upper);
    expect(list(t)).toEqual(['d dir', 'd/keep file k']);
    expect([t.get('d')!.mode, t.get('d')!.uid, t.get('d')!.gid]).toEqual([0o700, 5, 6]);
  });

  it('binds a hard link to the lower layer’s node (relative and absolute targets)', () => {
    const lower = layer({ 'bin/busybox': 'bb' });
    const rel = layer({ 'bin/sh': { hardlink: 'bin/busybox' } });
    const abs = layer({ 'bin/ls': { hardlink: 'bin/busybox' } }, ['bin/ls'], ['--transform=s,^,/,']);
    expect([...readTar(rel)].map((e) => [e.type, e.linkname.toString()])).toEqual([['hardlink', 'bin/busybox']]);
    expect([...readTar(abs)].map((e) => [e.type, e.linkname.toString()])).toEqual([['hardlink', '/bin/busybox']]);
    const t = apply(lower, rel, abs);
    expect(Buffer.concat([...readContent(t.get('bin/ls')!.content!)]).toString()).toBe('bb');
    expect(t.get('bin/sh')).toBe(t.get('bin/busybox'));
    expect(t.get('bin/ls')).toBe(t.get('bin/busybox'));
  });

  it('rejects a hard link whose target is missing', () => {
    expect(() => apply(layer({ 'bin/sh': { hardlink: 'bin/busybox' } }))).toThrow(
      /"bin\/sh".*hard link target "bin\/busybox" does not exist/,
    );
  });

  it('rejects a name with a ".." component', () => {
    const d = join(scratch, `esc${n++}`);
    mkdirSync(join(d, 'in'), { recursive: true });
    writeFileSync(join(d, 'evil'), 'e');
    const tar = join(scratch, `esc${n++}.tar`);
    execFileSync('tar', ['--format=pax', '-P', '-cf', tar, '../evil'], { cwd: join(d, 'in') });
    expect(() => apply(tar)).toThrow(/entry "\.\.\/evil" \(at byte \d+\): the name has a "\.\." component/);
  });

  it('keeps entries under a symlinked parent inside the tree', () => {
    const lower = layer({ evil: { symlink: '../../../../../tmp' }, abs: { symlink: '/etc' } });
    const upper = layer({ 'evil/pwned': 'p', 'abs/passwd': 'x' }, ['evil/pwned', 'abs/passwd']);
    expect(list(apply(lower, upper))).toEqual([
      'abs symlink -> /etc',
      'etc dir',
      'etc/passwd file x',
      'evil symlink -> ../../../../../tmp',
      'tmp dir',
      'tmp/pwned file p',
    ]);
  });

  it('does not resurrect a deleted directory’s children when a later entry re-adds it', () => {
    const l1 = layer({ 'a/foo': 'foo' });
    const l2 = layer({ '.wh.a': '' });
    const l3 = layer({ 'a/baz': 'baz' });
    expect(list(apply(l1, l2, l3))).toEqual(['a dir', 'a/baz file baz']);
    // the same within one layer: the whiteout, then the new child
    expect(list(apply(l1, layer({ '.wh.a': '', 'a/baz': 'baz' })))).toEqual(['a dir', 'a/baz file baz']);
  });

  it('keeps sparse file content as pieces of the layer file', () => {
    const d = join(scratch, `sp${n++}`);
    mkdirSync(d);
    writeFileSync(join(d, 'big'), '');
    execFileSync('truncate', ['-s', '8M', join(d, 'big')]);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(d, 'big')}`, 'bs=4096', 'count=1', 'seek=1000', 'conv=notrunc'], {
      stdio: 'ignore',
    });
    const tar = join(scratch, `sp${n++}.tar`);
    execFileSync('tar', ['--format=pax', '--sparse', '-cf', tar, 'big'], { cwd: d });
    const big = apply(tar).get('big')!;
    expect(big.content!.size).toBe(8 << 20);
    expect(big.content!.pieces).toEqual([{ at: 4096 * 1000, length: 4096, file: tar, from: expect.any(Number) }]);
  });
});
