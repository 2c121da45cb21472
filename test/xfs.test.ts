// The xfs writer, checked by xfsprogs (xfs_repair -n, xfs_db) and by the kernel itself
// (QEMU: mounted read-only and read-write).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, Tree, setXattr } from '../src/tree/tree.js';
import { writeXfs } from '../src/xfs/write.js';
import {
  bootAsRoot,
  bootDisk,
  diffListings,
  type Entry,
  LIST_SCRIPT,
  parseListing,
  treeListing,
} from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-xfs-'));
const T = { sec: 1700000000, nsec: 123456789 };
let n = 0;

function image(tree: Tree, o: { sizeBufferMb?: number; preallocate?: boolean } = {}): string {
  const path = join(scratch, `img-${n++}.xfs`);
  const f = new ArtifactFile(path);
  writeXfs(tree, f, { sizeBufferMb: o.sizeBufferMb ?? 0, preallocate: o.preallocate ?? false, epoch: T });
  f.commit();
  return path;
}

function expectClean(path: string): void {
  const r = spawnSync('xfs_repair', ['-n', '-f', path], { encoding: 'utf8' });
  // an image file has no host geometry: xfs_repair says so, harmlessly
  const said = (r.stdout + r.stderr).replace(
    /Cannot get host filesystem geometry\.\nRepair may fail if there is a sector size mismatch between\nthe image and the host filesystem\.\n/g,
    '',
  );
  expect(said).not.toMatch(/would|bad|corrupt|invalid|error|mismatch/i);
  expect(r.status).toBe(0);
}

function db(path: string, ...cmds: string[]): string {
  return execFileSync('xfs_db', ['-r', ...cmds.flatMap((c) => ['-c', c]), path], {
    encoding: 'latin1',
    maxBuffer: 1 << 28,
  });
}

/** POSIX ACL in the Linux xattr form (version 2): user::rwx user:1000:r-x group::r-x mask::r-x other::r-- */
function aclXattr(): Buffer {
  const acl = Buffer.alloc(4 + 5 * 8);
  acl.writeUInt32LE(2, 0);
  [
    [0x01, 7, 0xffffffff],
    [0x02, 5, 1000],
    [0x04, 5, 0xffffffff],
    [0x10, 5, 0xffffffff],
    [0x20, 4, 0xffffffff],
  ].forEach(([tag, perm, id], k) => {
    acl.writeUInt16LE(tag, 4 + 8 * k);
    acl.writeUInt16LE(perm, 6 + 8 * k);
    acl.writeUInt32LE(id, 8 + 8 * k);
  });
  return acl;
}

const file = (tree: Tree, path: string, data: string | Buffer, attrs: Parameters<typeof makeNode>[1] = {}) =>
  tree.set(path, makeNode('file', { mtime: T, ...attrs }, { content: bytesContent(Buffer.from(data)) }));

/** `print` of the inode at `path`: field → value. */
function stat(img: string, path: string): Record<string, string> {
  const out = db(img, `path ${path}`, 'print');
  return Object.fromEntries([...out.matchAll(/^(\S+) = (.*)$/gm)].map((m) => [m[1], m[2]]));
}

/** The file's data extents as xfs_db maps them: [file block, AG, AG block, count]. */
function bmap(img: string, path: string): number[][] {
  return [
    ...db(img, `path ${path}`, 'bmap').matchAll(/^data offset (\d+) startblock \d+ \((\d+)\/(\d+)\) count (\d+)/gm),
  ].map((m) => m.slice(1).map(Number));
}

/** The file's bytes, read where xfs_db says its blocks are. */
function cat(img: string, path: string): Buffer {
  const size = Number(stat(img, path)['core.size']);
  const agblocks = Number(/agblocks = (\d+)/.exec(db(img, 'sb 0', 'print agblocks'))![1]);
  const out = Buffer.alloc(size);
  const fd = openSync(img, 'r');
  for (const [off, ag, agbno, count] of bmap(img, path)) {
    const len = Math.min(count * 4096, size - off * 4096);
    readSync(fd, out, off * 4096, len, (ag * agblocks + agbno) * 4096);
  }
  closeSync(fd);
  return out;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const named = (n: number) => Array.from({ length: n }, (_, i) => `name-${String(i).padStart(6, '0')}`);

describe('xfs writer: xfs_repair and xfs_db', () => {
  it('an empty tree: xfs_repair clean; the features and layout mkfs.xfs 6.1 gives', () => {
    const img = image(new Tree({ mtime: T, mode: 0o755 }));
    expectClean(img);
    const ref = join(scratch, 'mkfs.img');
    execFileSync('truncate', ['-s', '300M', ref]);
    execFileSync('mkfs.xfs', ['-q', '-f', ref]);
    expect(db(img, 'version')).toBe(db(ref, 'version'));
    const sb = db(
      img,
      'sb 0',
      'print agcount rootino rbmino rsumino inodesize blocksize logblocks inoalignmt spino_align',
    );
    expect(sb).toMatch(
      /agcount = 4\nrootino = 128\nrbmino = 129\nrsumino = 130\ninodesize = 512\nblocksize = 4096\nlogblocks = 1368\ninoalignmt = 8\nspino_align = 4\n/,
    );
    expect(stat(img, '/')['core.format']).toBe('1 (local)');
  });

  it('the hard-case tree: xfs_repair clean; xfs_db reads back content, modes, owners, times, links, devices', () => {
    const tree = hardTree(scratch);
    const img = image(tree);
    expectClean(img);
    const su = stat(img, '/usr/bin/su');
    expect([su['core.mode'], su['core.uid'], su['core.gid'], su['core.nlinkv2']]).toEqual([
      '0104755',
      '1000',
      '1000',
      '1',
    ]);
    expect(su['core.mtime.nsec']).toBe('0');
    expect(su['v3.bigtime']).toBe('1');
    expect([stat(img, '/home/big/ids')['core.uid'], stat(img, '/home/big/ids')['core.gid']]).toEqual([
      '70000',
      '65534',
    ]);
    expect(stat(img, '/srv/nobody')['core.mode']).toBe('042775');
    expect(stat(img, '/usr/bin/tool')['core.nlinkv2']).toBe('3');
    expect(stat(img, '/usr/bin/tool')['v3.inumber']).toBe(stat(img, '/bin2/tool-third')['v3.inumber']);
    expect(stat(img, '/dev/sda')['core.format']).toBe('0 (dev)');
    expect(stat(img, '/lib/short')['u3.symlink']).toBe('"../etc/hostname"');
    expect(cat(img, '/etc/hostname').toString()).toBe('fledge\n');
    expect(cat(img, '/etc/empty').length).toBe(0);
    expect(cat(img, '/data/region').equals(Buffer.alloc(70000, 7))).toBe(true);
    expect(bmap(img, '/data/sparse')).toEqual([[256, expect.any(Number), expect.any(Number), 1]]);
    expect(
      cat(img, '/data/sparse')
        .subarray(1 << 20, (1 << 20) + 10)
        .toString(),
    ).toBe('0123456789');
    expect(cat(img, '/big/entry-04999').toString()).toBe('4999');
    expect(cat(img, `/names/${'n'.repeat(180)}`).toString()).toBe('long name');
    expect(cat(img, '/names/日本').toString()).toBe('日本');
  });

  it('times: nanoseconds, before 1970 and past 2038 (bigtime)', () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    file(tree, 'old', 'o', { mtime: { sec: -1234567890, nsec: 123456789 } });
    file(tree, 'future', 'f', { mtime: { sec: 4102444800, nsec: 999999999 } });
    const img = image(tree);
    expectClean(img);
    expect(stat(img, '/old')['core.mtime.nsec']).toBe('123456789');
    expect(stat(img, '/old')['core.mtime.sec']).toMatch(/1930/);
    expect(stat(img, '/future')['core.mtime.sec']).toMatch(/2100/);
    expect(stat(img, '/future')['v3.crtime.nsec']).toBe('999999999');
  });

  it('xattrs: short form in the inode, a leaf block, POSIX ACLs in xfs form, on a device', () => {
    const img = image(xattrTree());
    expectClean(img);
    expect(stat(img, '/bin/ping')['core.aformat']).toBe('1 (local)');
    expect(
      db(img, 'path /bin/ping', 'print a.sfattr.list[0].name a.sfattr.list[0].root a.sfattr.list[0].secure'),
    ).toMatch(/name = "capability"\n.*root = 0\n.*secure = 1/);
    expect(stat(img, '/big-xattrs')['core.aformat']).toBe('2 (extents)');
    expect(db(img, 'path /big-xattrs', 'ablock 0', 'print hdr.count')).toMatch(/hdr.count = 3/);
    expect(db(img, 'path /many-xattrs', 'ablock 0', 'print hdr.count')).toMatch(/hdr.count = 40/);
    // 10 000 and 65 536 bytes: remote values in 3 + 17 blocks after the leaf
    expect(stat(img, '/remote-xattrs')['core.nblocks']).toBe(String(1 + 1 + 3 + 17));
    expect(db(img, 'path /remote-xattrs', 'ablock 1', 'print hdr.bytes hdr.offset')).toMatch(
      /bytes = 4040\n.*offset = 0/,
    );
    // 300 names of ~100 bytes: leaves under a dabtree node at attribute block 0
    expect(db(img, 'path /node-xattrs', 'ablock 0', 'print hdr.info.hdr.magic hdr.level')).toMatch(
      /magic = 0x3ebe\n.*level = 1/,
    );
    expect(db(img, 'path /acl-file', 'print a.sfattr.list[0].name a.sfattr.list[0].root')).toMatch(
      /name = "SGI_ACL_FILE"\n.*root = 1/,
    );
    expect(stat(img, '/dev/null-x')['core.forkoff']).toBe('1');
  });

  it('directories in every form by size: short form, block, leaf, node; lookups by hash; inodes across AGs', () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    const sizes = [10, 100, 200, 5000, 100000];
    for (const n of sizes) {
      const d = tree.mkdirp(`d${n}`, { mtime: T });
      for (const name of named(n))
        d.entries!.set(
          name,
          makeNode(
            n === 100000 ? 'fifo' : 'file',
            { mtime: T },
            n === 100000 ? {} : { content: bytesContent(Buffer.from(name)) },
          ),
        );
    }
    const img = image(tree);
    expectClean(img);
    // 105 000 inodes: chunks in several AGs, a two-level inode btree in AG 0
    expect(db(img, 'agi 0', 'print level')).toMatch(/level = 2/);
    expect(db(img, 'agi 1', 'print count')).toMatch(/count = [1-9]/);
    const sections = (n: number) =>
      bmap(img, `/d${n}`).map(([off]) => (off >= 16777216 ? 'free' : off >= 8388608 ? 'leaf' : 'data'));
    expect(stat(img, '/d10')['core.format']).toBe('1 (local)');
    expect([stat(img, '/d100')['core.size'], sections(100)]).toEqual(['4096', ['data']]);
    expect(new Set(sections(200))).toEqual(new Set(['data', 'leaf']));
    expect(new Set(sections(5000))).toEqual(new Set(['data', 'leaf', 'free']));
    expect(db(img, 'path /d5000', 'dblock 8388608', 'print nhdr.level')).toMatch(/nhdr.level = 1/);
    for (const n of sizes)
      expect(db(img, `path /d${n}/name-${String(n - 1).padStart(6, '0')}`, 'print core.mode')).toMatch(
        /core.mode = 0100644|core.mode = 010644/,
      );
    expect(cat(img, '/d5000/name-004321').toString()).toBe('name-004321');
  }, 300_000);

  it('a directory of 260 000 names (hard links to one fifo): a two-level dabtree', () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    const fifo = makeNode('fifo', { mtime: T });
    const d = tree.mkdirp('huge', { mtime: T });
    for (const name of named(260000)) d.entries!.set(name, fifo);
    const img = image(tree);
    expectClean(img);
    expect(db(img, 'path /huge', 'dblock 8388608', 'print nhdr.level')).toMatch(/nhdr.level = 2/);
    expect(db(img, 'path /huge/name-259999', 'print core.nlinkv2')).toMatch(/core.nlinkv2 = 260000/);
    expect(db(img, 'path /huge/name-000000', 'print core.mode')).toMatch(/core.mode = 010644/);
  }, 300_000);

  it('a 2 000-extent file in a bmbt; a 5 GiB sparse file, holes unallocated', () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    const pieces = Array.from({ length: 2000 }, (_, k) => ({
      at: k * 8192,
      length: 1,
      bytes: Buffer.from([k & 0xff]),
    }));
    tree.set('fragmented', makeNode('file', { mtime: T }, { content: { size: 2000 * 8192, pieces } }));
    const g = 2 ** 30;
    tree.set(
      'huge',
      makeNode(
        'file',
        { mtime: T },
        {
          content: {
            size: 5 * g,
            pieces: [
              { at: 0, length: 4, bytes: Buffer.from('head') },
              { at: 4.5 * g, length: 4, bytes: Buffer.from('tail') },
            ],
          },
        },
      ),
    );
    const img = image(tree);
    expectClean(img);
    const f = stat(img, '/fragmented');
    expect([f['core.format'], f['core.nextents'], f['u3.bmbt.level']]).toEqual(['3 (btree)', '2000', '1']);
    expect(bmap(img, '/fragmented')).toHaveLength(2000);
    const data = cat(img, '/fragmented');
    expect(pieces.every((p) => data[p.at] === p.bytes[0])).toBe(true);
    const h = stat(img, '/huge');
    expect([h['core.size'], h['core.nblocks']]).toEqual(['5368709120', '2']);
    expect(bmap(img, '/huge').map(([off, , , count]) => [off, count])).toEqual([
      [0, 1],
      [1179648, 1],
    ]);
  });

  it('size_buffer_mb adds free space (0: the auto rule, at least 64 MiB); preallocate writes every block, same bytes', () => {
    const small = new Tree({ mtime: T, mode: 0o755 });
    file(small, 'a', 'a');
    const free = (img: string) => Number(/fdblocks = (\d+)/.exec(db(img, 'sb 0', 'print fdblocks'))![1]);
    const auto = free(image(small));
    expect(auto).toBeGreaterThanOrEqual(64 * 256);
    expect(auto).toBeLessThan(64 * 256 + 64);
    const buffered = image(small, { sizeBufferMb: 400 });
    expectClean(buffered);
    expect(free(buffered)).toBeGreaterThanOrEqual(400 * 256);
    expect(free(buffered)).toBeLessThan(400 * 256 + 64);
    expect(statSync(buffered).blocks * 512).toBeLessThan(statSync(buffered).size / 4);
    const full = image(small, { sizeBufferMb: 400, preallocate: true });
    expectClean(full);
    expect(statSync(full).blocks * 512).toBeGreaterThanOrEqual(statSync(full).size);
    expect(sha(readFileSync(full))).toBe(sha(readFileSync(buffered)));
  });

  it('refuses what xfs cannot hold, naming the entry: a 1025-byte symlink target, a 256-byte name', () => {
    const long = new Tree({ mtime: T });
    long.set('etc/far', makeNode('symlink', { mtime: T }, { target: Buffer.alloc(1025, 0x61) }));
    expect(() => image(long)).toThrow(/^xfs: \/etc\/far: symlink target of 1025 bytes, xfs holds at most 1024 bytes; /);
    const longName = new Tree({ mtime: T });
    file(longName, `d/${'n'.repeat(256)}`, 'x');
    expect(() => image(longName)).toThrow(
      new RegExp(`^xfs: /d/${'n'.repeat(256)}: name of 256 bytes, xfs holds at most 255 bytes; `),
    );
  });

  it('a 10 000-deep directory tree: written in seconds, xfs_repair clean', () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    let dir = tree.root;
    for (let i = 0; i < 10000; i++) {
      const next = makeNode('dir', { mtime: T });
      dir.entries!.set('d', next);
      dir = next;
    }
    dir.entries!.set('bottom', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from('deep\n')) }));
    const start = Date.now();
    const img = image(tree);
    expect(Date.now() - start).toBeLessThan(30_000);
    expectClean(img);
  }, 120_000);

  it('the same bytes on every run; the UUID follows the content', () => {
    const a = readFileSync(image(hardTree(scratch, { bigDir: 100 })));
    const b = readFileSync(image(hardTree(scratch, { bigDir: 100 })));
    expect(sha(a)).toBe(sha(b));
    const changed = hardTree(scratch, { bigDir: 100 });
    changed.get('etc/hostname')!.content = bytesContent(Buffer.from('other!\n'));
    const c = readFileSync(image(changed));
    expect(c.subarray(32, 48).equals(a.subarray(32, 48))).toBe(false);
  });
});

/** Every xattr form: short form in the inode, one leaf block, ACLs, all three namespaces. */
function xattrTree(): Tree {
  const tree = new Tree({ mtime: T, mode: 0o755 });
  setXattr(
    file(tree, 'bin/ping', 'ping'),
    'security.capability',
    Buffer.from('0100000200200000000000000000000000000000', 'hex'),
  );
  const big = file(tree, 'big-xattrs', 'x');
  setXattr(big, 'user.small', Buffer.from([0, 1, 2, 0xff]));
  setXattr(big, 'user.large', Buffer.alloc(300, 0xab));
  setXattr(big, 'trusted.t', Buffer.from('trusted'));
  const many = file(tree, 'many-xattrs', 'm');
  for (let k = 0; k < 40; k++) setXattr(many, `user.attr-${k}`, Buffer.from(`value-${k}`));
  const remote = file(tree, 'remote-xattrs', 'r');
  setXattr(remote, 'user.big', Buffer.alloc(10000, 0x42));
  setXattr(remote, 'trusted.max', Buffer.from(Array.from({ length: 65536 }, (_, k) => k & 0xff)));
  setXattr(remote, 'user.small', Buffer.from('s'));
  const node = file(tree, 'node-xattrs', 'n');
  for (let k = 0; k < 300; k++) setXattr(node, `user.${'long-name-'.repeat(10)}${k}`, Buffer.from(`v${k}`.repeat(20)));
  setXattr(node, 'user.remote', Buffer.alloc(5000, 0x33));
  setXattr(file(tree, 'acl-file', 'acl'), 'system.posix_acl_access', aclXattr());
  setXattr(tree.mkdirp('acl-dir', { mtime: T }), 'system.posix_acl_default', aclXattr());
  // user.* is for files and directories only (xattr(7)); a device takes trusted.*
  setXattr(
    tree.set('dev/null-x', makeNode('char', { mode: 0o666, mtime: T }, { rdev: { major: 1, minor: 3 } })),
    'trusted.dev',
    Buffer.from('d'),
  );
  return tree;
}

/** xfs keeps an ACL as the attribute trusted.SGI_ACL_FILE / _DEFAULT, which root also sees as such. */
function withoutAclAttrs(listing: Map<string, Entry>): Map<string, Entry> {
  for (const e of listing.values())
    for (const k of Object.keys(e.xattrs)) if (/^trusted\.SGI_ACL_(FILE|DEFAULT)$/.test(k)) delete e.xattrs[k];
  return listing;
}

describe('xfs writer: the kernel', () => {
  const busybox = () =>
    makeNode(
      'file',
      { mode: 0o755, mtime: T },
      { content: fileContent('/bin/busybox', statSync('/bin/busybox').size) },
    );

  it('mounts it read-only and lists every entry as the tree has it; the image runs its own /bin/sh', async () => {
    const tree = hardTree(scratch);
    for (const [k, v] of xattrTree().root.entries!) tree.root.entries!.set(`x-${k}`, v);
    file(tree, 'times/old', 'o', { mtime: { sec: -1234567890, nsec: 123456789 } });
    file(tree, 'times/future', 'f', { mtime: { sec: 4102444800, nsec: 999999999 } });
    tree.set('bin/busybox', busybox());
    tree.set('bin/sh', makeNode('symlink', { mode: 0o777, mtime: T }, { target: Buffer.from('busybox') }));
    const img = image(tree);
    expectClean(img);
    const r = await bootDisk({
      image: img,
      fstype: 'xfs',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK $((6*7))'`,
    });
    expect(r.report).toContain('CHROOT-OK 42');
    expect(diffListings(treeListing(tree), withoutAclAttrs(parseListing(r.report)))).toEqual([]);
  }, 300_000);

  it(
    'mounts it read-write: thousands of creates, renames and deletes in a big directory, the disk ' +
      'filled, a clean umount, xfs_repair clean after',
    async () => {
      const img = image(hardTree(scratch), { sizeBufferMb: 48 });
      const script = [
        'cd big',
        'i=0; while [ $i -lt 3000 ]; do echo $i > new-$i; i=$((i+1)); done',
        'for f in entry-00*; do mv $f renamed-$f; done',
        'rm entry-01* entry-02*',
        'mkdir more && echo x > more/file && rm ../etc/hostname',
        'echo COUNT $(ls | wc -l)',
        'dd if=/dev/zero of=/mnt/fill bs=1M 2>&1 | grep -o "No space left on device"',
        'sync; df -k /mnt | tail -1',
        'cd / && umount /mnt && echo UMOUNT-OK',
      ].join('\n');
      const r = await bootDisk({ image: img, fstype: 'xfs', mountOptions: 'rw', script, timeoutMs: 420_000 });
      expect(r.report).toContain('UMOUNT-OK');
      expect(r.report).toContain('COUNT 6001'); // 5000 + 3000 new - 2000 deleted + more
      expect(r.report).toMatch(/No space left on device/);
      expect(r.console).not.toMatch(/XFS \(vda\): (Corruption|Metadata|.*error)/i);
      expectClean(img);
      expect(cat(img, '/big/new-2999').toString()).toBe('2999\n');
      expect(cat(img, '/big/renamed-entry-00999').toString()).toBe('999');
      const gone = spawnSync('xfs_db', ['-r', '-c', 'path /big/entry-01000', img], { encoding: 'utf8' });
      expect(gone.stdout + gone.stderr).toMatch(/No such file/);
    },
    480_000,
  );

  it('boots as the root filesystem (root=/dev/vda rootfstype=xfs) into /bin/kestrel', async () => {
    const tree = new Tree({ mtime: T, mode: 0o755 });
    tree.set('bin/busybox', busybox());
    tree.set('bin/sh', makeNode('symlink', { mode: 0o777, mtime: T }, { target: Buffer.from('busybox') }));
    for (const d of ['dev', 'proc', 'sys', 'tmp']) tree.mkdirp(d, { mtime: T });
    file(
      tree,
      'bin/kestrel',
      '#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho "KESTREL-ROOT pid=$$ $(/bin/busybox grep " / " /proc/mounts)"\n/bin/busybox poweroff -f\n',
      { mode: 0o755 },
    );
    const out = await bootAsRoot(image(tree), 'xfs', '/bin/kestrel', { until: /KESTREL-ROOT.*\n/ });
    expect(out).toMatch(/KESTREL-ROOT pid=1 \/dev\/vda \/ xfs ro/);
  }, 180_000);
});
