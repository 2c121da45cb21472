// A tree with the cases that break writers: hard links, devices, fifos, sockets,
// long names and link targets, big ids, special bits, empty and sparse files, file
// regions, UTF-8 names whose byte order differs from JavaScript's string order, and a
// 5000-entry directory.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesContent, fileContent } from '../../src/tree/content.js';
import { makeNode, Tree } from '../../src/tree/tree.js';

export function hardTree(scratch: string, opts: { sockets?: boolean; bigDir?: number } = {}): Tree {
  const t = { sec: 1700000000, nsec: 0 };
  const tree = new Tree({ mode: 0o755, mtime: t });
  const dir = (p: string, mode = 0o755, uid = 0, gid = 0) => tree.mkdirp(p, { mode, uid, gid, mtime: t });
  const file = (p: string, data: string | Buffer, mode = 0o644, uid = 0, gid = 0) =>
    tree.set(p, makeNode('file', { mode, uid, gid, mtime: t }, { content: bytesContent(Buffer.from(data)) }));

  dir('etc');
  file('etc/hostname', 'fledge\n');
  file('etc/empty', '');
  dir('tmp', 0o1777);
  dir('root', 0o700);
  const shared = file('usr/bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  dir('usr/sbin');
  tree.set('usr/sbin/tool-link', shared);
  tree.set('bin2/tool-third', shared);
  file('usr/bin/su', 'setuid', 0o4755, 1000, 1000);
  file('home/big/ids', 'ids', 0o640, 70000, 65534);
  dir('srv/nobody', 0o2775, 65534, 70000);
  tree.set('dev/console', makeNode('char', { mode: 0o600, mtime: t }, { rdev: { major: 5, minor: 1 } }));
  tree.set('dev/big', makeNode('char', { mode: 0o600, mtime: t }, { rdev: { major: 240, minor: 300 } }));
  tree.set('dev/sda', makeNode('block', { mode: 0o660, gid: 6, mtime: t }, { rdev: { major: 8, minor: 0 } }));
  tree.set('run/fifo', makeNode('fifo', { mode: 0o644, mtime: t }));
  if (opts.sockets !== false) tree.set('run/sock', makeNode('socket', { mode: 0o755, mtime: t }));
  tree.set('lib/short', makeNode('symlink', { mode: 0o777, mtime: t }, { target: Buffer.from('../etc/hostname') }));
  tree.set(
    'lib/long-target',
    makeNode('symlink', { mode: 0o777, mtime: t }, { target: Buffer.from('/' + 'x'.repeat(299)) }),
  );
  file(`names/${'n'.repeat(180)}`, 'long name');
  for (const n of ['z', 'Z', 'é', '\uFF21', '\u{1F600}', 'a b', '日本']) file(`names/${n}`, n);

  // sparse: 3 MiB of holes around 10 bytes; a region of a file on disk
  const sparse = tree.set('data/sparse', makeNode('file', { mtime: t }));
  sparse.content = { size: 3 << 20, pieces: [{ at: 1 << 20, length: 10, bytes: Buffer.from('0123456789') }] };
  const host = join(scratch, 'host-blob');
  writeFileSync(host, Buffer.concat([Buffer.from('HEADER'), Buffer.alloc(70000, 7), Buffer.from('TRAILER')]));
  tree.set('data/region', makeNode('file', { mtime: t }, { content: fileContent(host, 70000, 6) }));

  const n = opts.bigDir ?? 5000;
  const big = dir('big');
  for (let i = 0; i < n; i++)
    big.entries!.set(
      `entry-${String(i).padStart(5, '0')}`,
      makeNode('file', { mtime: t }, { content: bytesContent(Buffer.from(String(i))) }),
    );
  return tree;
}
