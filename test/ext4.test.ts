// The ext4 writer, checked by e2fsprogs (e2fsck -fn, debugfs, dumpe2fs) and by the
// kernel itself (QEMU: mounted read-only and read-write, and booted as the root).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { bufferBytes, mke2fsInodes } from '../src/ext4/sizing.js';
import { writeExt4 } from '../src/ext4/write.js';
import { bytesContent, fileContent } from '../src/tree/content.js';
import { makeNode, Tree, setXattr } from '../src/tree/tree.js';
import { bootAsRoot, bootDisk, diffListings, LIST_SCRIPT, parseListing, treeListing } from './helpers/disk-boot.js';
import { hardTree } from './helpers/hard-tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-ext4-'));
const T = { sec: 1700000000, nsec: 0 };
let n = 0;

function image(tree: Tree, o: { sizeBufferMb?: number; preallocate?: boolean } = {}): string {
  const path = join(scratch, `img-${n++}.ext4`);
  const f = new ArtifactFile(path);
  writeExt4(tree, f, { sizeBufferMb: o.sizeBufferMb ?? 0, preallocate: o.preallocate ?? false, epoch: T });
  f.commit();
  return path;
}

function expectClean(path: string): void {
  const r = spawnSync('e2fsck', ['-fn', path], { encoding: 'utf8' });
  expect(r.stdout + r.stderr).not.toMatch(/WARNING|Fix\?|corrupt|invalid|bad /i);
  expect(r.status).toBe(0);
}

function debugfs(path: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, path], {
    encoding: 'latin1',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 28,
  });
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const file = (tree: Tree, path: string, data: string | Buffer, attrs: Parameters<typeof makeNode>[1] = {}) =>
  tree.set(path, makeNode('file', { mtime: T, ...attrs }, { content: bytesContent(Buffer.from(data)) }));

/** Every xattr layout: small in-inode, too big for the inode (a block), shared blocks, an ACL. */
function xattrTree(): Tree {
  const tree = new Tree({ mtime: T });
  const cap = file(tree, 'bin/ping', 'ping');
  setXattr(cap, 'security.capability', Buffer.from('0100000200200000000000000000000000000000', 'hex'));
  const big = file(tree, 'big-xattrs', 'x');
  setXattr(big, 'user.small', Buffer.from([0, 1, 2, 0xff]));
  setXattr(big, 'user.large', Buffer.alloc(300, 0xab));
  setXattr(big, 'trusted.t', Buffer.from('trusted'));
  for (const name of ['shared-1', 'shared-2', 'shared-3'])
    setXattr(file(tree, name, name), 'user.shared', Buffer.alloc(200, 0x5a));
  // POSIX ACL (xattr form v2): user::rwx user:1000:r-x group::r-x mask::r-x other::r--
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
  setXattr(file(tree, 'acl-file', 'acl'), 'system.posix_acl_access', acl);
  setXattr(tree.mkdirp('acl-dir', { mtime: T }), 'system.posix_acl_default', acl);
  return tree;
}

describe('ext4 writer: e2fsck and debugfs', () => {
  it('an empty tree: e2fsck clean, lost+found made, journal and features as mke2fs', () => {
    const img = image(new Tree({ mtime: T }));
    expectClean(img);
    const head = execFileSync('dumpe2fs', ['-h', img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(head).toMatch(
      /features:\s+has_journal ext_attr dir_index filetype extent 64bit flex_bg sparse_super large_file huge_file dir_nlink extra_isize metadata_csum\n/,
    );
    expect(head).toMatch(/Total journal size:\s+4096k/);
    expect(debugfs(img, 'ls -l /')).toMatch(/40700 \(2\)\s+0\s+0\s+16384 .* lost\+found/);
  });

  it('the hard-case tree: e2fsck clean; debugfs reads back content, modes, owners, times, links, devices', () => {
    const tree = hardTree(scratch);
    const img = image(tree);
    expectClean(img);
    const stat = (p: string) => debugfs(img, `stat "${p}"`);
    expect(stat('/usr/bin/su')).toMatch(/Mode:\s+04755[\s\S]*User:\s+1000\s+Group:\s+1000/);
    expect(stat('/home/big/ids')).toMatch(/User:\s+70000\s+Group:\s+65534/);
    expect(stat('/usr/bin/tool')).toMatch(/Links: 3/);
    expect(debugfs(img, 'ls -l /usr/sbin')).toMatch(
      new RegExp(`^\\s*${/Inode: (\d+)/.exec(stat('/usr/bin/tool'))![1]}\\s+100755.*tool-link`, 'm'),
    );
    expect(stat('/dev/big')).toMatch(/Device major\/minor number: 240:300/);
    expect(stat('/dev/sda')).toMatch(/Type: block[\s\S]*Device major\/minor number: 08:00/);
    expect(stat('/run/fifo')).toMatch(/Type: FIFO/);
    expect(stat('/run/sock')).toMatch(/Type: socket/);
    expect(stat('/lib/short')).toMatch(/Fast link dest: "\.\.\/etc\/hostname"/);
    expect(stat('/lib/long-target')).toMatch(/Type: symlink[\s\S]*EXTENTS/);
    expect(debugfs(img, 'cat /lib/long-target')).toBe('/' + 'x'.repeat(299));
    expect(stat('/usr/bin/su')).toMatch(/mtime: 0x6553f100:00000000/);
    expect(debugfs(img, 'cat /data/region')).toBe('\x07'.repeat(70000));
    // the sparse file: 3 MiB, one data block at 1 MiB, nothing else allocated
    expect(stat('/data/sparse')).toMatch(/Size: 3145728[\s\S]*Blockcount: 8\n[\s\S]*EXTENTS:\n\(256\):\d+\n/);
    expect(sha(Buffer.from(debugfs(img, 'cat /data/sparse'), 'latin1'))).toBe(
      sha(Buffer.concat([Buffer.alloc(1 << 20), Buffer.from('0123456789'), Buffer.alloc((2 << 20) - 10)])),
    );
    // names in byte order survive; the 5000-entry folder is an htree
    expect(debugfs(img, `cat "/names/${'n'.repeat(180)}"`)).toBe('long name');
    expect(debugfs(img, 'htree /big')).toMatch(/Indirect levels: 0/);
    expect(debugfs(img, 'cat /big/entry-04321')).toBe('4321');
  });

  it('times with nanoseconds before 1970 and after 2038, crtime set', () => {
    const tree = new Tree({ mtime: T });
    file(tree, 'old', 'o', { mtime: { sec: -1234567890, nsec: 123456789 } });
    file(tree, 'future', 'f', { mtime: { sec: 4102444800, nsec: 999999999 } });
    const img = image(tree);
    expectClean(img);
    expect(debugfs(img, 'stat /old')).toMatch(/mtime: 0xb669fd2e:1d6f3454 -- .*1930/);
    expect(debugfs(img, 'stat /future')).toMatch(
      /mtime: 0xf4865700:ee6b27fd -- .*2100[\s\S]*crtime: 0xf4865700:ee6b27fd/,
    );
  });

  it('xattrs in the inode, in a block, shared blocks, ACLs in ext4 form', () => {
    const img = image(xattrTree());
    expectClean(img);
    expect(debugfs(img, 'ea_get -x /bin/ping security.capability')).toMatch(
      /01 00 00 02 00 20 00 00 00 00 00 00 00 00 00 00 00 00 00 00/i,
    );
    expect(debugfs(img, 'stat /bin/ping')).toMatch(/File ACL: 0/);
    const bigStat = debugfs(img, 'stat /big-xattrs');
    expect(bigStat).toMatch(/File ACL: [1-9]/);
    expect(bigStat).toMatch(/user.small \(4\) = 00 01 02 ff/);
    expect(bigStat).toMatch(/user.large \(300\)/);
    const acls = ['shared-1', 'shared-2', 'shared-3'].map(
      (f) => /File ACL: (\d+)/.exec(debugfs(img, `stat /${f}`))![1],
    );
    expect(new Set(acls).size).toBe(1);
    expect(acls[0]).not.toBe('0');
    expect(debugfs(img, 'ea_list /acl-file')).toMatch(/system.posix_acl_access/);
  });

  it('a 20 000-entry folder and a two-level htree, deep paths, a depth-2 extent tree', () => {
    const tree = new Tree({ mtime: T });
    const wide = tree.mkdirp('wide', { mtime: T });
    for (let i = 0; i < 20000; i++)
      wide.entries!.set(`f${i}`, makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(String(i))) }));
    const huge = tree.mkdirp('two-level', { mtime: T });
    for (let i = 0; i < 12000; i++)
      huge.entries!.set(`${String(i).padStart(6, '0')}-${'L'.repeat(200)}`, makeNode('fifo', { mtime: T }));
    let deep = 'deep';
    for (let i = 0; i < 200; i++) deep += `/d${i}`;
    file(tree, `${deep}/leaf`, 'bottom');
    // 1500 separate data blocks: more extents than one tree block holds under the inode's 4
    const pieces = Array.from({ length: 1500 }, (_, k) => ({
      at: k * 8192,
      length: 1,
      bytes: Buffer.from([k & 0xff]),
    }));
    tree.set('fragmented', makeNode('file', { mtime: T }, { content: { size: 1500 * 8192, pieces } }));
    const img = image(tree);
    expectClean(img);
    expect(debugfs(img, 'htree /two-level')).toMatch(/Indirect levels: 1/);
    expect(debugfs(img, `cat /two-level/011999-${'L'.repeat(200)}`)).toBe('');
    expect(debugfs(img, 'cat /wide/f19999')).toBe('19999');
    expect(debugfs(img, `cat /${deep}/leaf`)).toBe('bottom');
    // 1500 extents: 5 leaves under one index block under the inode (depth 2)
    const tree2 = debugfs(img, 'dump_extents /fragmented');
    expect(tree2).toMatch(/^\s*0\/ 2\s+1\/\s+1\s/m);
    expect(tree2).toMatch(/^\s*1\/ 2\s+1\/\s+5\s/m);
    expect(tree2.match(/^\s*2\/ 2/gm)).toHaveLength(1500);
  });

  it('a 5 GiB sparse file, holes unallocated; size_buffer_mb adds free space; preallocate writes every block', () => {
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
    expect(debugfs(img, 'stat /huge')).toMatch(/Size: 5368709120[\s\S]*Blockcount: 16\n/);
    expect(debugfs(img, 'dump_extents /huge')).toMatch(/1179648 - 1179648/);
    const blocksOf = (p: string) =>
      Number(
        /Block count:\s+(\d+)/.exec(
          execFileSync('dumpe2fs', ['-h', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
        )![1],
      );
    const freeOf = (p: string) =>
      Number(
        /Free blocks:\s+(\d+)/.exec(
          execFileSync('dumpe2fs', ['-h', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
        )![1],
      );
    // size_buffer_mb = 0: the auto buffer, here its 64 MiB minimum (the data is 2 blocks)
    expect(freeOf(img)).toBeGreaterThanOrEqual(16384);
    expect(freeOf(img)).toBeLessThan(16384 + 64);
    const small = new Tree({ mtime: T });
    file(small, 'a', 'a');
    const buffered = image(small, { sizeBufferMb: 64 });
    expectClean(buffered);
    expect(freeOf(buffered)).toBeGreaterThanOrEqual(16384);
    expect(freeOf(buffered)).toBeLessThan(16384 + 64);
    expect(readFileSync(image(small)).equals(readFileSync(buffered))).toBe(true);
    expect(freeOf(image(small, { sizeBufferMb: 1 }))).toBeLessThan(256 + 64);
    const sparse = statSync(buffered);
    expect(sparse.blocks * 512).toBeLessThan(sparse.size / 4);
    const full = image(small, { sizeBufferMb: 64, preallocate: true });
    expectClean(full);
    expect(statSync(full).blocks * 512).toBeGreaterThanOrEqual(statSync(full).size);
    expect(readFileSync(full).equals(readFileSync(buffered))).toBe(true);
    expect(blocksOf(full)).toBe(blocksOf(buffered));
  });

  it('many groups: a 200 MiB file split around the backup superblock of group 1, 1 GiB spare', () => {
    const tree = new Tree({ mtime: T });
    tree.set('zeros', makeNode('file', { mtime: T }, { content: fileContent('/dev/zero', 200 << 20) }));
    file(tree, 'after', 'after');
    const img = image(tree, { sizeBufferMb: 1024 });
    expectClean(img);
    const head = execFileSync('dumpe2fs', [img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(head).toMatch(/Group 1: \(Blocks 32768-65535\)[^\n]*\n\s+Backup superblock at 32768/);
    expect(head).toMatch(/Group 9:/);
    const extents = debugfs(img, 'dump_extents /zeros');
    expect(extents).toMatch(/ - +32767 /); // an extent ends right before group 1's backup superblock
    expect(extents).toMatch(/ 32770 - /); // and the next starts after it
    expect(debugfs(img, 'cat /after')).toBe('after');
  });

  it("size_buffer_mb = 0 is Fledge's auto buffer: 25 % of the content, at least 64 MiB, at most 1024 MiB", () => {
    const MiB = 1024 * 1024;
    expect([
      bufferBytes(0, 0),
      bufferBytes(0, 256 * MiB),
      bufferBytes(0, 400 * MiB),
      bufferBytes(0, 4096 * MiB),
      bufferBytes(0, 8192 * MiB),
    ]).toEqual([64 * MiB, 64 * MiB, 100 * MiB, 1024 * MiB, 1024 * MiB]);
    expect(bufferBytes(8, 400 * MiB)).toBe(8 * MiB);
  });

  it('never fewer inodes than `mke2fs -t ext4` (and -b 4096) gives a filesystem of the same size', () => {
    const inodesOf = (p: string) =>
      Number(
        /Inode count:\s+(\d+)/.exec(
          execFileSync('dumpe2fs', ['-h', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
        )![1],
      );
    const small = new Tree({ mtime: T });
    file(small, 'a', 'a');
    const sparse = new Tree({ mtime: T });
    sparse.set(
      'huge',
      makeNode(
        'file',
        { mtime: T },
        { content: { size: 2 ** 31, pieces: [{ at: 0, length: 4, bytes: Buffer.from('head') }] } },
      ),
    );
    const cases = [
      image(small),
      image(small, { sizeBufferMb: 1 }),
      image(small, { sizeBufferMb: 600 }),
      image(hardTree(scratch, { bigDir: 3000 }), { sizeBufferMb: 2 }),
      image(sparse),
    ];
    for (const img of cases) {
      expectClean(img);
      const ours = inodesOf(img);
      const same = join(scratch, `mke2fs-${n++}.img`);
      execFileSync('truncate', ['-s', String(statSync(img).size), same]);
      for (const args of [[], ['-b', '4096']]) {
        const plan = execFileSync('mke2fs', ['-n', '-F', '-t', 'ext4', ...args, same], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const theirs = Number(/and (\d+) inodes/.exec(plan)![1]);
        expect([img, args, ours >= theirs, ours, theirs]).toEqual([img, args, true, ours, theirs]);
      }
      expect(ours).toBeGreaterThanOrEqual(mke2fsInodes(statSync(img).size));
    }
  });

  it('refuses what ext4 cannot hold, naming the entry: a 4096-byte symlink target, a 256-byte name', () => {
    const long = new Tree({ mtime: T });
    long.set('etc/far', makeNode('symlink', { mtime: T }, { target: Buffer.alloc(4096, 0x61) }));
    expect(() => image(long)).toThrow(
      'ext4: /etc/far: symlink target of 4096 bytes, ext4 holds at most 4095 bytes; change the image ' +
        '(rename, shorten or drop the entry) or choose another format',
    );
    const named = new Tree({ mtime: T });
    file(named, `d/${'n'.repeat(256)}`, 'x');
    expect(() => image(named)).toThrow(
      `ext4: /d/${'n'.repeat(256)}: name of 256 bytes, ext4 holds at most 255 bytes; change the image ` +
        `(rename, shorten or drop the entry) or choose another format`,
    );
  });

  it('the same bytes on every run; the UUID follows the content', () => {
    const a = readFileSync(image(hardTree(scratch, { bigDir: 100 })));
    const b = readFileSync(image(hardTree(scratch, { bigDir: 100 })));
    expect(sha(a)).toBe(sha(b));
    const changed = hardTree(scratch, { bigDir: 100 });
    changed.get('etc/hostname')!.content = bytesContent(Buffer.from('other!\n'));
    const c = readFileSync(image(changed));
    expect(c.subarray(1024 + 0x68, 1024 + 0x78).equals(a.subarray(1024 + 0x68, 1024 + 0x78))).toBe(false);
  });
});

describe('ext4 writer: the kernel', () => {
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
    tree.mkdirp('lost+found', { mode: 0o700, mtime: T });
    const img = image(tree);
    const r = await bootDisk({
      image: img,
      fstype: 'ext4',
      script: `${LIST_SCRIPT}\nchroot /mnt /bin/sh -c 'echo CHROOT-OK $((6*7))'`,
    });
    expect(r.report).toContain('CHROOT-OK 42');
    const diffs = diffListings(treeListing(tree), parseListing(r.report));
    expect(diffs).toEqual([]);
  }, 240_000);

  it('mounts it read-write: files written (8 000 small ones in the auto buffer), unmounted cleanly, e2fsck clean after', async () => {
    const tree = hardTree(scratch, { bigDir: 300 });
    const img = image(tree); // size_buffer_mb = 0: the auto buffer (64 MiB here)
    // 8 000 small files: each takes an inode and a block; a buffer with too few inodes
    // fails with ENOSPC long before the blocks run out
    const many =
      'mkdir many && i=0; while [ $i -lt 8000 ]; do echo $i > many/f$i || break; i=$((i+1)); done; echo MADE $i; df -i /mnt | tail -1';
    const r = await bootDisk({
      image: img,
      fstype: 'ext4',
      mountOptions: 'rw',
      timeoutMs: 360_000,
      script:
        `echo written-by-the-kernel > new-file && mkdir big/more && touch big/entry-99999 && rm ` +
        `etc/hostname && ${many} && sync && cat new-file && cd / && umount /mnt && echo UMOUNT-OK`,
    });
    expect(r.report).toContain('written-by-the-kernel');
    expect(r.report).toContain('MADE 8000');
    expect(r.report).toContain('UMOUNT-OK');
    expect(r.console).not.toMatch(/EXT4-fs error|No space left/);
    expectClean(img);
    expect(debugfs(img, 'cat /new-file')).toBe('written-by-the-kernel\n');
    expect(debugfs(img, 'ls /big')).toMatch(/entry-99999/);
    expect(debugfs(img, 'cat /many/f7999')).toBe('7999\n');
  }, 400_000);

  it('boots as the root filesystem (root=/dev/vda rootfstype=ext4) into /bin/kestrel', async () => {
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
    const out = await bootAsRoot(image(tree), 'ext4', '/bin/kestrel', { until: /KESTREL-ROOT.*\n/ });
    expect(out).toMatch(/KESTREL-ROOT pid=1 \/dev\/vda \/ ext4 ro/);
  }, 180_000);
});
