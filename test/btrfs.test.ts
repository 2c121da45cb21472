// The btrfs writer, checked by btrfs-progs (btrfs check, btrfs restore, btrfs
// inspect-internal dump-super/dump-tree) and by the kernel itself in QEMU.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeBtrfs } from '../src/btrfs/write.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, Tree, setXattr } from '../src/tree/tree.js';
import { bootAsRoot, bootDisk, diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-btrfs-'));
const T = { sec: 1700000000, nsec: 0 };
let n = 0;

function image(tree: Tree, o: { sizeBufferMb?: number; preallocate?: boolean } = {}): string {
  const path = join(scratch, `img-${n++}.btrfs`);
  const f = new ArtifactFile(path);
  writeBtrfs(tree, f, { sizeBufferMb: o.sizeBufferMb ?? 0, preallocate: o.preallocate ?? false, epoch: T });
  f.commit();
  return path;
}

/** btrfs check, read-only, data checksums verified too: no error, exit 0. */
function expectClean(path: string): void {
  const r = spawnSync('btrfs', ['check', '--readonly', '--check-data-csum', path], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).toMatch(/no error found/);
  expect(r.stdout + r.stderr).not.toMatch(/ERROR|error:|mismatch|wanted|corrupt/);
  expect(r.status).toBe(0);
}

const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
const dumpTree = (img: string, tree = 'fs') => run('btrfs', ['inspect-internal', 'dump-tree', '-t', tree, img]);
const dumpSuper = (img: string, mirror = 0) =>
  run('btrfs', ['inspect-internal', 'dump-super', '-f', '-s', String(mirror), img]);

/** btrfs restore with owners, modes, times (-m), symlinks (-S) and xattrs (-x) into a new folder. */
function restore(img: string): string {
  const dir = mkdtempSync(join(scratch, 'restore-'));
  run('btrfs', ['restore', '-m', '-S', '-x', img, dir]);
  return dir;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const file = (tree: Tree, path: string, data: string | Buffer, attrs: Parameters<typeof makeNode>[1] = {}) =>
  tree.set(path, makeNode('file', { mtime: T, ...attrs }, { content: bytesContent(Buffer.from(data)) }));

/** The inode item of the entry named `name` (a DIR_INDEX hit, then that inode's INODE_ITEM), from dump-tree. */
function inodeOf(dump: string, name: string): string {
  const m = new RegExp(
    `location key \\((\\d+) INODE_ITEM 0\\) type \\w+\\n[^\\n]*\\n\\s+name: ${name.replace(/[.+]/g, '\\$&')}\\n`,
  ).exec(dump);
  if (!m) throw new Error(`no entry ${name} in the dump`);
  const at = new RegExp(`item \\d+ key \\(${m[1]} INODE_ITEM 0\\) itemoff`).exec(dump)!.index;
  return dump.slice(at, dump.indexOf('otime', at));
}

/** POSIX ACL, xattr form v2: user::rwx user:1000:r-x group::r-x mask::r-x other::r-- */
function acl(): Buffer {
  const b = Buffer.alloc(4 + 5 * 8);
  b.writeUInt32LE(2, 0);
  [
    [0x01, 7, 0xffffffff],
    [0x02, 5, 1000],
    [0x04, 5, 0xffffffff],
    [0x10, 5, 0xffffffff],
    [0x20, 4, 0xffffffff],
  ].forEach(([tag, perm, id], k) => {
    b.writeUInt16LE(tag, 4 + 8 * k);
    b.writeUInt16LE(perm, 6 + 8 * k);
    b.writeUInt32LE(id, 8 + 8 * k);
  });
  return b;
}

function xattrTree(): Tree {
  const tree = new Tree({ mtime: T });
  setXattr(
    file(tree, 'bin/ping', 'ping'),
    'security.capability',
    Buffer.from('0100000200200000000000000000000000000000', 'hex'),
  );
  const many = file(tree, 'many', 'x');
  setXattr(many, 'user.small', Buffer.from([0, 1, 2, 0xff]));
  setXattr(many, 'user.large', Buffer.alloc(3000, 0xab));
  setXattr(many, 'trusted.t', Buffer.from('trusted'));
  setXattr(file(tree, 'acl-file', 'acl'), 'system.posix_acl_access', acl());
  setXattr(tree.mkdirp('acl-dir', { mtime: T }), 'system.posix_acl_default', acl());
  return tree;
}

describe('btrfs writer: btrfs-progs', () => {
  it('an empty tree: btrfs check clean; features, trees, chunks and profiles as mkfs.btrfs makes them', () => {
    const img = image(new Tree({ mtime: T }));
    expectClean(img);
    const sb = dumpSuper(img);
    expect(sb).toMatch(
      /incompat_flags\s+0x341\n\s+\( MIXED_BACKREF \|\n\s+EXTENDED_IREF \|\n\s+SKINNY_METADATA \|\n\s+NO_HOLES \)/,
    );
    expect(sb).toMatch(/compat_ro_flags\s+0x3\n\s+\( FREE_SPACE_TREE \|\n\s+FREE_SPACE_TREE_VALID \)/);
    expect(sb).toMatch(/csum_type\s+0 \(crc32c\)/);
    expect(sb).toMatch(/nodesize\s+16384/);
    expect(sb).toMatch(/sectorsize\s+4096/);
    const roots = dumpTree(img, 'root');
    for (const t of [
      'EXTENT_TREE',
      'DEV_TREE',
      'FS_TREE',
      'CSUM_TREE',
      'UUID_TREE',
      'FREE_SPACE_TREE',
      'DATA_RELOC_TREE',
    ])
      expect(roots).toContain(`key (${t} ROOT_ITEM 0)`);
    // mkfs' profiles for one device: metadata (and the system chunk) DUP, data single
    expect(dumpTree(img, 'chunk')).toMatch(
      /type SYSTEM\|DUP\n[^\n]*\n\s+num_stripes 2[\s\S]*type DATA\|single[\s\S]*type METADATA\|DUP\n[^\n]*\n\s+num_stripes 2/,
    );
    const fs = dumpTree(img);
    expect(fs).toMatch(/key \(256 INODE_ITEM 0\)[^\n]*\n[^\n]*size 0 nbytes 0\n[^\n]*mode 40755 links 1 uid 0 gid 0/);
    expect(fs).toMatch(/key \(256 INODE_REF 256\)[^\n]*\n\s+index 0 namelen 2 name: \.\./);
  });

  it('the hard-case tree: check clean (data checksums too); restore and dump-tree read back everything', () => {
    const img = image(hardTree(scratch));
    expectClean(img);
    const dir = restore(img);
    const st = (p: string) => statSync(join(dir, p));
    expect(readFileSync(join(dir, 'etc/hostname'), 'utf8')).toBe('fledge\n');
    expect(readFileSync(join(dir, 'etc/empty')).length).toBe(0);
    expect(st('usr/bin/su').mode & 0o7777).toBe(0o4755);
    expect([st('usr/bin/su').uid, st('usr/bin/su').gid]).toEqual([1000, 1000]);
    expect([st('home/big/ids').uid, st('home/big/ids').gid]).toEqual([70000, 65534]);
    expect(st('srv/nobody').mode & 0o7777).toBe(0o2775);
    expect(st('tmp').mode & 0o7777).toBe(0o1777);
    expect(st('usr/bin/su').mtimeMs).toBe(1700000000 * 1000);
    expect(readlinkSync(join(dir, 'lib/short'))).toBe('../etc/hostname');
    expect(readlinkSync(join(dir, 'lib/long-target'))).toBe('/' + 'x'.repeat(299));
    expect(readFileSync(join(dir, 'data/region')).equals(Buffer.alloc(70000, 7))).toBe(true);
    expect(sha(readFileSync(join(dir, 'data/sparse')))).toBe(
      sha(Buffer.concat([Buffer.alloc(1 << 20), Buffer.from('0123456789'), Buffer.alloc((2 << 20) - 10)])),
    );
    expect(readFileSync(join(dir, `names/${'n'.repeat(180)}`), 'utf8')).toBe('long name');
    for (const name of ['é', '\uFF21', '\u{1F600}', '日本'])
      expect(readFileSync(join(dir, 'names', name), 'utf8')).toBe(name);
    expect(readFileSync(join(dir, 'big/entry-04321'), 'utf8')).toBe('4321');
    const fs = dumpTree(img);
    // hard links: one inode, three names; devices as the kernel's dev_t (major << 20 | minor)
    expect(inodeOf(fs, 'tool')).toMatch(/mode 100755 links 3 /);
    expect(inodeOf(fs, 'console')).toMatch(/mode 20600 links 1 uid 0 gid 0 rdev 5242881\n/);
    expect(inodeOf(fs, 'sda')).toMatch(/mode 60660 links 1 uid 0 gid 6 rdev 8388608\n/);
    expect(inodeOf(fs, 'fifo')).toMatch(/mode 10644 links 1/);
    expect(inodeOf(fs, 'sock')).toMatch(/mode 140755 links 1/);
    // the sparse file: 3 MiB, one 4 KiB extent at 1 MiB, no hole extents (no-holes)
    expect(inodeOf(fs, 'sparse')).toMatch(/size 3145728 nbytes 4096\n/);
    expect(fs).toMatch(
      /EXTENT_DATA 1048576\)[^\n]*\n[^\n]*type 1 \(regular\)\n[^\n]*\n\s+extent data offset 0 nr 4096 ram 4096/,
    );
  });

  it('xattrs: security.capability, user, trusted, POSIX ACLs on a file and a directory', () => {
    const img = image(xattrTree());
    expectClean(img);
    const dir = restore(img);
    const get = (p: string) => run('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', join(dir, p)]);
    expect(get('bin/ping')).toContain('security.capability=0x0100000200200000000000000000000000000000');
    expect(get('many')).toContain('user.small=0x000102ff');
    expect(get('many')).toContain(`user.large=0x${'ab'.repeat(3000)}`);
    expect(get('many')).toContain('trusted.t=0x74727573746564');
    expect(get('acl-file')).toContain(`system.posix_acl_access=0x${acl().toString('hex')}`);
    // btrfs restore sets no xattrs on directories: the item itself, from dump-tree (the kernel test reads it)
    expect(dumpTree(img)).toMatch(
      /XATTR_ITEM \d+\)[^\n]*\n[^\n]*type XATTR\n\s+transid 1 data_len 44 name_len 24\n\s+name: system.posix_acl_default\n/,
    );
  });

  it('a file larger than 64 MiB: data split around the superblock mirror, which is written', () => {
    const tree = new Tree({ mtime: T });
    const big = Buffer.alloc(70 << 20);
    for (let k = 0; k < big.length; k += 4096) big.writeUInt32LE(k, k);
    tree.set('big', makeNode('file', { mtime: T }, { content: bytesContent(big) }));
    file(tree, 'after', 'after');
    const img = image(tree);
    expectClean(img);
    expect(dumpSuper(img, 1)).toMatch(/bytenr\s+67108864\n/);
    expect(dumpSuper(img, 1)).toMatch(/csum\s+0x[0-9a-f]+ \[match\]/);
    const dir = restore(img);
    expect(sha(readFileSync(join(dir, 'big')))).toBe(sha(big));
    // no extent covers the 64 KiB stripe at 64 MiB
    const extents = [...dumpTree(img, 'extent').matchAll(/key \((\d+) EXTENT_ITEM (\d+)\)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    for (const [at, len] of extents) expect(at + len <= 64 << 20 || at >= (64 << 20) + 65536).toBe(true);
  });

  it('a DUP copy placed past the 64 MiB mirror: a 46 MiB file puts the metadata chunk just below it', () => {
    const tree = new Tree({ mtime: T });
    tree.set('mid', makeNode('file', { mtime: T }, { content: bytesContent(Buffer.alloc(46 << 20, 9)) }));
    const img = image(tree);
    expectClean(img);
    expect(dumpSuper(img, 1)).toMatch(/csum\s+0x[0-9a-f]+ \[match\]/);
    const meta =
      /CHUNK_ITEM \d+\)[^\n]*\n\s+length (\d+) owner 2 stripe_len 65536 type METADATA\|DUP[\s\S]*?stripe 1 devid 1 offset (\d+)/.exec(
        dumpTree(img, 'chunk'),
      )!;
    const [length, copy] = [Number(meta[1]), Number(meta[2])];
    expect(copy).toBeGreaterThan(64 << 20); // moved past the mirror it would have held
    expect(copy >= (64 << 20) + 65536 || copy + length <= 64 << 20).toBe(true);
  });

  it('a 100 000-name directory: a multi-level filesystem tree, check clean, every name read back', () => {
    const tree = new Tree({ mtime: T });
    const wide = tree.mkdirp('wide', { mtime: T });
    for (let i = 0; i < 100000; i++)
      wide.entries!.set(`name-${i}`, makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(String(i))) }));
    const img = image(tree);
    expectClean(img);
    const head = dumpTree(img, 'root');
    expect(head).toMatch(/key \(FS_TREE ROOT_ITEM 0\)[^\n]*\n[^\n]*\n[^\n]*\n[^\n]*\n\s+level 2 /);
    const dir = restore(img);
    const names = execFileSync('ls', ['-f', join(dir, 'wide')], { encoding: 'utf8', maxBuffer: 1 << 26 })
      .split('\n')
      .filter((x) => x.startsWith('name-'));
    expect(names).toHaveLength(100000);
    expect(readFileSync(join(dir, 'wide/name-99999'), 'utf8')).toBe('99999');
    expect(readFileSync(join(dir, 'wide/name-0'), 'utf8')).toBe('0');
  }, 300_000);

  it('a 5 GiB sparse file: two 4 KiB extents, no hole items, checksums for those two sectors only', () => {
    const tree = new Tree({ mtime: T });
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
    expect(statSync(img).size).toBeLessThan(96 << 20); // the auto buffer's 64 MiB included
    expect(statSync(img).blocks * 512).toBeLessThan(1 << 20); // holes everywhere but the two sectors and the trees
    const fs = dumpTree(img);
    expect(inodeOf(fs, 'huge')).toMatch(/size 5368709120 nbytes 8192\n/);
    expect([...fs.matchAll(/key \(257 EXTENT_DATA (\d+)\)/g)].map((m) => m[1])).toEqual(['0', String(4.5 * g)]);
    expect(dumpTree(img, 'csum')).toMatch(/EXTENT_CSUM \d+\) itemoff \d+ itemsize 8\n/);
  });

  it(
    'size: 0 is the auto buffer (25 %, 64 MiB to 1 GiB) of unallocated space, or size_buffer_mb; ' +
      'preallocate writes every byte; the same bytes on every run',
    () => {
      const tree = () => hardTree(scratch, { bigDir: 100 });
      const a = image(tree());
      const b = image(tree());
      expect(sha(readFileSync(a))).toBe(sha(readFileSync(b)));
      const devSize = (img: string) => Number(/dev_item.total_bytes\s+(\d+)/.exec(dumpSuper(img))![1]);
      const allocated = (img: string) => Number(/dev_item.bytes_used\s+(\d+)/.exec(dumpSuper(img))![1]);
      expect(devSize(a)).toBe(statSync(a).size);
      expect(devSize(a) - allocated(a) - (1 << 20)).toBe(64 << 20); // first MiB + chunks + 64 MiB unallocated
      const buffered = image(tree(), { sizeBufferMb: 100 });
      expectClean(buffered);
      expect(statSync(buffered).size).toBe(statSync(a).size + (36 << 20));
      expect(statSync(buffered).blocks * 512).toBeLessThan(statSync(buffered).size / 2);
      const full = image(tree(), { sizeBufferMb: 100, preallocate: true });
      expect(statSync(full).blocks * 512).toBeGreaterThanOrEqual(statSync(full).size);
      expect(sha(readFileSync(full))).toBe(sha(readFileSync(buffered)));
      const changed = tree();
      changed.get('etc/hostname')!.content = bytesContent(Buffer.from('other!\n'));
      expect(dumpSuper(image(changed)).match(/fsid\s+(\S+)/)![1]).not.toBe(dumpSuper(a).match(/fsid\s+(\S+)/)![1]);
    },
  );

  it('refuses what btrfs cannot hold, naming the entry: a 256-byte name, a 4096-byte symlink target, a 17 000-byte xattr', () => {
    const named = new Tree({ mtime: T });
    file(named, `d/${'n'.repeat(256)}`, 'x');
    expect(() => image(named)).toThrow(
      new RegExp(`^btrfs: /d/${'n'.repeat(256)}: name of 256 bytes, btrfs holds at most 255 bytes; `),
    );
    const long = new Tree({ mtime: T });
    long.set('etc/far', makeNode('symlink', { mtime: T }, { target: Buffer.alloc(4096, 0x61) }));
    expect(() => image(long)).toThrow(
      /^btrfs: \/etc\/far: symlink target of 4096 bytes, btrfs holds at most 4095 bytes; /,
    );
    const fat = new Tree({ mtime: T });
    setXattr(file(fat, 'etc/fat', 'x'), 'user.big', Buffer.alloc(17000));
    expect(() => image(fat)).toThrow(
      'btrfs: /etc/fat: xattr user.big of 17000 bytes does not fit in one item (16220 bytes at most); drop or shorten it',
    );
  });
});

describe('btrfs writer: the kernel', () => {
  const busybox = () =>
    makeNode(
      'file',
      { mode: 0o755, mtime: T },
      { content: fileContent('/bin/busybox', statSync('/bin/busybox').size) },
    );

  /** What the kernel lists for the tree: btrfs gives every directory one link. */
  function btrfsListing(tree: Tree) {
    const listing = treeListing(tree);
    for (const e of listing.values()) if (e.mode.startsWith('4')) e.nlink = 1;
    return listing;
  }

  it('mounts it read-only and lists every entry as the tree has it; the image runs its own /bin/sh; scrub finds no errors', async () => {
    const tree = hardTree(scratch);
    for (const [k, v] of xattrTree().root.entries!) tree.root.entries!.set(`x-${k}`, v);
    file(tree, 'times/old', 'o', { mtime: { sec: -1234567890, nsec: 123456789 } });
    file(tree, 'times/future', 'f', { mtime: { sec: 4102444800, nsec: 999999999 } });
    const big = Buffer.alloc(3 << 20);
    for (let k = 0; k < big.length; k += 512) big.writeUInt32LE(k, k);
    tree.set('data/three-mib', makeNode('file', { mtime: T }, { content: bytesContent(big) }));
    tree.set('bin/busybox', busybox());
    tree.set('bin/sh', makeNode('symlink', { mode: 0o777, mtime: T }, { target: Buffer.from('busybox') }));
    const img = image(tree);
    const scrub =
      'mount -t sysfs sys /sys; /usr/bin/btrfs scrub start -B -r /mnt > /tmp/scrub 2>&1; echo "SCRUB-RC=$?"; sed "s/^/S|/" /tmp/scrub';
    const r = await bootDisk({
      image: img,
      fstype: 'btrfs',
      tools: ['/usr/bin/btrfs', '/lib/x86_64-linux-gnu/libgcc_s.so.1'],
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK $((6*7))'\n${scrub}`,
    });
    expect(r.report).toContain('CHROOT-OK 42');
    expect(r.report).toContain('SCRUB-RC=0');
    expect(r.report).toMatch(/S\|Error summary:\s+no errors found/);
    expect(r.console).not.toMatch(/BTRFS (error|critical|warning)/);
    expect(diffListings(btrfsListing(tree), parseListing(r.report))).toEqual([]);
  }, 300_000);

  it('mounts it read-write: thousands of files created, renamed, deleted, the disk filled; clean unmount, btrfs check clean after', async () => {
    const tree = hardTree(scratch, { bigDir: 300 });
    const img = image(tree, { sizeBufferMb: 64 });
    const script = [
      'mkdir many && i=0; while [ $i -lt 3000 ]; do echo "file $i" > many/f$i; i=$((i+1)); done',
      'i=0; while [ $i -lt 1000 ]; do mv many/f$i many/renamed-$i; rm many/f$((i+1000)); i=$((i+1)); done',
      'mv big/entry-00007 etc/moved && rm -r data && echo written-by-the-kernel > new-file',
      'dd if=/dev/zero of=fill bs=1M 2>&1 | grep -E "No space|records out"; echo FILLED; sync; rm fill; sync',
      'ls many | wc -l; cat many/renamed-5 new-file etc/moved',
      'cd / && umount /mnt && echo UMOUNT-OK',
    ].join('\n');
    const r = await bootDisk({ image: img, fstype: 'btrfs', mountOptions: 'rw', script, timeoutMs: 420_000 });
    expect(r.report).toMatch(/No space left on device/);
    expect(r.report).toMatch(/FILLED\n2000\nfile 5\nwritten-by-the-kernel\n7UMOUNT-OK/);
    expect(r.console).not.toMatch(/BTRFS (error|critical)/);
    expectClean(img);
    const dir = restore(img);
    expect(readFileSync(join(dir, 'new-file'), 'utf8')).toBe('written-by-the-kernel\n');
    expect(readFileSync(join(dir, 'many/f2999'), 'utf8')).toBe('file 2999\n');
  }, 480_000);

  it('boots as the root filesystem (root=/dev/vda rootfstype=btrfs) into /bin/kestrel', async () => {
    const tree = new Tree({ mtime: T });
    tree.set('bin/busybox', busybox());
    tree.set('bin/sh', makeNode('symlink', { mode: 0o777, mtime: T }, { target: Buffer.from('busybox') }));
    for (const d of ['dev', 'proc', 'sys', 'tmp']) tree.mkdirp(d, { mtime: T });
    file(
      tree,
      'bin/kestrel',
      '#!/bin/sh\n/bin/busybox mount -t proc proc /proc\necho "KESTREL-ROOT pid=$$ $(/bin/busybox grep " / " /proc/mounts)"\n/bin/busybox poweroff -f\n',
      { mode: 0o755 },
    );
    const out = await bootAsRoot(image(tree), 'btrfs', '/bin/kestrel', { until: /KESTREL-ROOT.*\n/ });
    expect(out).toMatch(/KESTREL-ROOT pid=1 \/dev\/vda \/ btrfs ro/);
  }, 180_000);
});
