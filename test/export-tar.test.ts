// The PAX tar writer on what ustar fields cannot hold, read back by GNU tar (as root).
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePaxTar } from '../src/export/tar.js';
import { readTar } from '../src/oci/tar.js';
import { bytesContent } from '../src/tree/content.js';
import { makeNode, Tree, setXattr } from '../src/tree/tree.js';
import { hardTree } from './helpers/hard-tree.js';
import { snapshotDir, snapshotTree } from './helpers/snapshot.js';

function tarOf(tree: Tree, file: string): void {
  const parts: Buffer[] = [];
  writePaxTar(tree, (c) => parts.push(Buffer.from(c)));
  writeFileSync(file, Buffer.concat(parts));
}

describe('PAX tar writer', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'fp-paxw-'));

  it('carries big ids, times before 1970 and nanoseconds, binary xattrs', () => {
    const tree = new Tree();
    const f = (name: string, attrs: Parameters<typeof makeNode>[1]) =>
      tree.set(name, makeNode('file', attrs, { content: bytesContent(Buffer.from(name)) }));
    f('big-ids', { uid: 3_000_000, gid: 4_000_000_000, mtime: { sec: 1700000000, nsec: 0 } });
    f('old', { mtime: { sec: -100, nsec: 500_000_000 } });
    f('precise', { mtime: { sec: 1700000000, nsec: 123456789 } });
    const cap = f('cap', { mtime: { sec: 0, nsec: 0 } });
    // the kernel checks security.capability values on extraction: a binary user.* one here
    setXattr(cap, 'user.binary', Buffer.from([0, 0xff, 10, 61, 0xc3]));
    const file = join(scratch, 'edge.tar');
    tarOf(tree, file);
    const out = join(scratch, 'edge');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', out]);
    const st = (n: string) => lstatSync(join(out, n), { bigint: true });
    expect([st('big-ids').uid, st('big-ids').gid]).toEqual([3_000_000n, 4_000_000_000n]);
    expect(st('old').mtimeNs).toBe(-99_500_000_000n);
    expect(st('precise').mtimeNs).toBe(1_700_000_000_123_456_789n);
    expect(execFileSync('getfattr', ['-n', 'user.binary', '--only-values', join(out, 'cap')]).toString('latin1')).toBe(
      Buffer.from([0, 0xff, 10, 61, 0xc3]).toString('latin1'),
    );
    // and our own reader gives back the same tree
    const entries = [...readTar(file)];
    expect(entries.map((e) => [e.name.toString(), e.uid, e.mtime.sec, e.mtime.nsec])).toEqual([
      ['big-ids', 3_000_000, 1700000000, 0],
      ['cap', 0, 0, 0],
      ['old', 0, -100, 500_000_000],
      ['precise', 0, 1700000000, 123456789],
    ]);
    expect(Buffer.from(entries[1].xattrs.get('user.binary')!).equals(Buffer.from([0, 0xff, 10, 61, 0xc3]))).toBe(true);
  });

  it('writes the hard-case tree so that GNU tar extracts exactly it (sockets left out)', () => {
    const tree = hardTree(scratch, { sockets: false, bigDir: 10 });
    const file = join(scratch, 'hard.tar');
    tarOf(tree, file);
    const out = join(scratch, 'hard');
    mkdirSync(out);
    execFileSync('tar', ['--numeric-owner', '-xpf', file, '-C', out]);
    expect(snapshotDir(out, { mtimes: true })).toEqual(snapshotTree(tree, { mtimes: true }));
    expect(readFileSync(file).length).toBeLessThan(3 << 20); // the 3 MiB sparse file stays sparse
  });
});
