// The newc writer, checked by the real tools: GNU cpio and bsdtar list and extract
// what we write (as root, so owners and device nodes are real) to exactly the tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNewc } from '../src/cpio/newc.js';
import { makeNode, Tree } from '../src/tree/tree.js';
import { hardTree } from './helpers/hard-tree.js';
import { type Entry, snapshotDir, snapshotTree } from './helpers/snapshot.js';

function archive(tree: Tree): Buffer {
  const parts: Buffer[] = [];
  writeNewc(tree, (c) => parts.push(Buffer.from(c)));
  return Buffer.concat(parts);
}

describe('newc cpio writer', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'fp-cpio-'));
  const tree = hardTree(scratch);
  const bytes = archive(tree);
  const file = join(scratch, 'a.cpio');
  writeFileSync(file, bytes);

  it('is extracted by GNU cpio to exactly the tree', () => {
    const out = join(scratch, 'gnu');
    mkdirSync(out);
    execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', file], { cwd: out });
    // GNU cpio sets a directory's mtime before it creates what is inside: compare
    // directory times through bsdtar, which restores them last
    const noDirTimes = (es: Entry[]) => es.map((e) => (e.type === 'dir' ? { ...e, mtime: undefined } : e));
    expect(noDirTimes(snapshotDir(out, { mtimes: true }))).toEqual(noDirTimes(snapshotTree(tree, { mtimes: true })));
  });

  it('is extracted by bsdtar to exactly the tree', () => {
    const out = join(scratch, 'bsd');
    mkdirSync(out);
    execFileSync('bsdtar', ['-xpf', file, '--numeric-owner', '-C', out]);
    // libarchive does not create sockets (archive_write_disk refuses them)
    const skip = (p: string) => p === 'run/sock';
    expect(snapshotDir(out, { mtimes: true, skip })).toEqual(snapshotTree(tree, { mtimes: true, skip }));
  });

  it('lists names in tree order with parents first, as GNU cpio reads them', () => {
    const names = execFileSync('cpio', ['-it', '--quiet', '-F', file]).toString().trimEnd().split('\n');
    expect(names[0]).toBe('.');
    const expected = ['.', ...[...tree.walk()].map((e) => e.path.toString('utf8'))];
    expect(names).toEqual(expected);
    // byte order, not UTF-16 order: U+FF21 (EF BC A1) before U+1F600 (F0 9F 98 80)
    expect(names.indexOf('names/\uFF21')).toBeLessThan(names.indexOf('names/\u{1F600}'));
  });

  it('stores a hard-linked file once, with nlink and one inode number', () => {
    const listing = execFileSync('bsdtar', ['-tvf', file]).toString();
    const lines = listing.split('\n').filter((l) => /tool/.test(l) && !/tool-?$/.test(l));
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^-rwxr-xr-x\s+3 /);
    // "#!/bin/sh\necho tool\n" is 20 bytes: stored on one header only
    const headers = [
      ...bytes
        .toString('latin1')
        .matchAll(/070701([0-9a-f]{8})([0-9a-f]{8})[0-9a-f]{32}([0-9a-f]{8})[0-9a-f]{40}[0-9a-f]{8}([^\0]*)\0/g),
    ];
    const tools = headers.filter((h) => h[4].includes('tool'));
    expect(new Set(tools.map((h) => h[1])).size).toBe(1);
    expect(tools.map((h) => parseInt(h[3], 16)).sort()).toEqual([0, 0, 20]);
  });

  it('pads every header+name and every body to 4 bytes and ends with TRAILER!!!', () => {
    expect(bytes.length % 4).toBe(0);
    expect(bytes.subarray(-124).toString('latin1')).toContain('TRAILER!!!');
    let pos = 0;
    let count = 0;
    while (pos < bytes.length) {
      expect(bytes.subarray(pos, pos + 6).toString()).toBe('070701');
      const field = (i: number) => parseInt(bytes.subarray(pos + 6 + 8 * i, pos + 14 + 8 * i).toString(), 16);
      const namesize = field(11);
      const size = field(6);
      const name = bytes.subarray(pos + 110, pos + 110 + namesize - 1).toString();
      pos += Math.ceil((110 + namesize) / 4) * 4 + Math.ceil(size / 4) * 4;
      count++;
      if (name === 'TRAILER!!!') break;
    }
    expect(pos).toBe(bytes.length);
    expect(count).toBe([...tree.walk()].length + 2);
  });

  it('gives the same bytes for the same tree', () => {
    expect(archive(hardTree(scratch)).equals(bytes)).toBe(true);
  });

  it('refuses what newc cannot hold, naming the entry', () => {
    const t = new Tree();
    t.set('huge', makeNode('file', {}, { content: { size: 2 ** 32, pieces: [] } }));
    expect(() => archive(t)).toThrow(
      /^initramfs \(newc cpio\): \/huge: file size 4294967296 bytes, .* holds at most 4294967295 bytes; /,
    );
    const u = new Tree();
    u.set('neg', makeNode('file', { uid: 2 ** 32 }, { content: { size: 0, pieces: [] } }));
    expect(() => archive(u)).toThrow(/\/neg: uid 4294967296, .* holds at most 4294967295/);
  });
});
