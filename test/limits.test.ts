// Per-format limits, checked before any byte is written: one entry past a limit stops
// every writer (ext4, squashfs, newc cpio, tar export) with one line naming the entry,
// the limit and the format, and leaves no file; an entry at the limit is written and
// the real tools (e2fsck/debugfs, unsquashfs, GNU cpio, bsdtar) read it back as it was.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactFile } from '../src/artifact.js';
import { writeNewc } from '../src/cpio/newc.js';
import { writeBtrfs } from '../src/btrfs/write.js';
import { writeExt4 } from '../src/ext4/write.js';
import { writePaxTar } from '../src/export/tar.js';
import { writeSquashfs } from '../src/squashfs/write.js';
import { bytesContent } from '../src/tree/content.js';
import { writeXfs } from '../src/xfs/write.js';
import { LimitError } from '../src/tree/limits.js';
import { makeNode, type Node, Tree } from '../src/tree/tree.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-limits-'));
const T = { sec: 1700000000, nsec: 0 };
let n = 0;

type Format = 'ext4' | 'squashfs' | 'xfs' | 'btrfs' | 'cpio' | 'tar';
const FORMATS: Format[] = ['ext4', 'squashfs', 'xfs', 'btrfs', 'cpio', 'tar'];

/** Writes the tree in a fresh folder; returns the image path (throws what the writer throws). */
async function write(format: Format, tree: Tree): Promise<string> {
  const dir = join(scratch, `w${n++}`);
  execFileSync('mkdir', [dir]);
  const path = join(dir, `image.${format}`);
  const file = new ArtifactFile(path);
  try {
    if (format === 'ext4') writeExt4(tree, file, { sizeBufferMb: 0, preallocate: false, epoch: T });
    else if (format === 'xfs') writeXfs(tree, file, { sizeBufferMb: 0, preallocate: false, epoch: T });
    else if (format === 'btrfs') writeBtrfs(tree, file, { sizeBufferMb: 0, preallocate: false, epoch: T });
    else if (format === 'squashfs')
      await writeSquashfs(tree, file, { compressor: 'gzip', level: 1, epoch: T, workers: 0 });
    else if (format === 'cpio') writeNewc(tree, (c) => file.write(c));
    else writePaxTar(tree, (c) => file.write(c));
    file.commit();
    return path;
  } catch (e) {
    file.abort();
    expect(readdirSync(dir)).toEqual([]); // nothing left behind
    throw e;
  }
}

async function refusal(format: Format, tree: Tree): Promise<string> {
  const err = await write(format, tree).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err, `${format} accepted it`).toBeInstanceOf(LimitError);
  expect(err!.message).not.toContain('\n');
  return err!.message;
}

const file = (data = 'x') => makeNode('file', { mtime: T }, { content: bytesContent(Buffer.from(data)) });
const one = (path: string, node: Node) => {
  const t = new Tree({ mtime: T });
  t.set(path, node, { mtime: T });
  return t;
};
const device = (major: number, minor: number) => makeNode('block', { mtime: T }, { rdev: { major, minor } });
const NAME = {
  ext4: 'ext4',
  squashfs: 'squashfs',
  xfs: 'xfs',
  btrfs: 'btrfs',
  cpio: 'initramfs \\(newc cpio\\)',
  tar: 'tar export',
};

describe('limits every format shares', () => {
  for (const format of FORMATS) {
    it(`${format}: refuses a 256-byte name, a 4096-byte symlink target, uid 2^32, gid −1`, async () => {
      const long = 'n'.repeat(256);
      expect(await refusal(format, one(`dir/${long}`, file()))).toMatch(
        new RegExp(`^${NAME[format]}: /dir/n{256}: name of 256 bytes, .* holds at most 255 bytes; `),
      );
      const link = makeNode('symlink', { mtime: T }, { target: Buffer.alloc(4096, 0x61) });
      expect(await refusal(format, one('l', link))).toMatch(
        /: \/l: symlink target of 4096 bytes, .* holds at most (4095|1024) bytes; /,
      );
      expect(
        await refusal(format, one('u', makeNode('file', { uid: 2 ** 32 }, { content: bytesContent(Buffer.alloc(0)) }))),
      ).toMatch(/\/u: uid 4294967296, .* at most 4294967295/);
      expect(await refusal(format, one('g', makeNode('fifo', { gid: -1 })))).toMatch(/\/g: gid -1, /);
    });
  }
});

describe('at the limit the real tools read back what was written', () => {
  const tree = new Tree({ mtime: T });
  const name = 'a'.repeat(255);
  const target = 't'.repeat(4095);
  tree.set(name, file('limit\n'), { mtime: T });
  tree.set('link', makeNode('symlink', { mtime: T }, { target: Buffer.from(target) }), { mtime: T });
  tree.set('dev', device(4095, 1048575), { mtime: T });
  tree.set(
    'own',
    makeNode('file', { uid: 2 ** 32 - 1, gid: 2 ** 32 - 2, mtime: T }, { content: bytesContent(Buffer.alloc(0)) }),
    { mtime: T },
  );

  it('ext4: e2fsck clean; debugfs shows the name, the target, the device and the ids', async () => {
    const img = await write('ext4', tree);
    const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout).toBe(0);
    const debugfs = (cmd: string) =>
      execFileSync('debugfs', ['-R', cmd, img], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(debugfs('ls -l /')).toContain(name);
    expect(debugfs('cat /link')).toBe(target); // a slow symlink: the target is its block's content
    expect(debugfs('stat /dev')).toMatch(/Device major\/minor number: 4095:1048575/);
    expect(debugfs('stat /own')).toMatch(/User: +-1 +Group: +-2 /); // debugfs prints ids signed
  });

  it('squashfs: unsquashfs lists the name, the target, the device and the ids', async () => {
    const img = await write('squashfs', tree);
    const list = execFileSync('unsquashfs', ['-lln', '-n', img], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(list).toContain(`squashfs-root/${name}\n`);
    expect(list).toContain(`squashfs-root/link -> ${target}\n`);
    // unsquashfs prints a device whose encoding has the top bit set as signed ("-1,255"):
    // rdsquashfs (squashfs-tools-ng) decodes it as the kernel does
    expect(execFileSync('rdsquashfs', ['-s', '/dev', img], { encoding: 'utf8' })).toMatch(
      /^Device number: 4095:1048575 /m,
    );
    expect(list).toMatch(/^-rw-r--r-- 4294967295\/4294967294 .* squashfs-root\/own$/m);
  });

  it('cpio: GNU cpio and bsdtar list the name, the target, the device and the ids', async () => {
    const img = await write('cpio', tree);
    const gnu = execFileSync('cpio', ['-itvn', '--quiet', '-F', img], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(gnu).toMatch(new RegExp(` ${name}\\n`));
    expect(gnu).toContain(`link -> ${target}\n`);
    expect(gnu).toMatch(/^brw-r--r-- +1 0 +0 +4095, 1048575 .* dev$/m);
    expect(gnu).toMatch(/^-rw-r--r-- +1 4294967295 4294967294 .* own$/m);
    expect(execFileSync('bsdtar', ['-tf', img], { encoding: 'utf8' }).split('\n')).toContain(name);
  });

  it('tar export: bsdtar lists the name, the target and the device', async () => {
    const img = await write('tar', tree);
    const list = execFileSync('bsdtar', ['-tvf', img], { encoding: 'utf8', maxBuffer: 1 << 24 });
    expect(list).toContain(` ${name}\n`);
    expect(list).toContain(`link -> ${target}\n`);
    expect(list).toMatch(/^brw-r--r-- .* 4095,1048575 .* dev$/m);
  });
});

describe('device numbers are never truncated into another device', () => {
  // 4104:1048577 used to become 8:257 in ext4 and 8:1 (/dev/sda1) in squashfs
  for (const format of ['ext4', 'squashfs', 'btrfs', 'cpio'] as const) {
    it(`${format}: refuses block device 4104:1048577 and 1:1048576`, async () => {
      expect(await refusal(format, one('dev/sdz', device(4104, 1048577)))).toMatch(
        /: \/dev\/sdz: device 4104:1048577: major 4104, .* holds at most 4095; /,
      );
      expect(await refusal(format, one('dev/x', device(1, 1048576)))).toMatch(
        /: \/dev\/x: device 1:1048576: minor 1048576, .* holds at most 1048575; /,
      );
    });
  }

  it('xfs: refuses 16384:0 and 1:262144 (its sysv encoding: a 14-bit major, an 18-bit minor)', async () => {
    expect(await refusal('xfs', one('d', device(16384, 0)))).toMatch(
      /^xfs: \/d: device 16384:0: major 16384, xfs holds at most 16383; /,
    );
    expect(await refusal('xfs', one('d', device(1, 262144)))).toMatch(
      /^xfs: \/d: device 1:262144: minor 262144, xfs holds at most 262143; /,
    );
  });

  it('tar export: keeps 4104:1048577 (ustar fields hold 7 octal digits); bsdtar reads it back; refuses 2097152', async () => {
    const img = await write('tar', one('d', device(4104, 1048577)));
    expect(execFileSync('bsdtar', ['-tvf', img], { encoding: 'utf8' })).toMatch(/4104,1048577 .* d$/m);
    expect(await refusal('tar', one('d', device(2097152, 0)))).toMatch(
      /major 2097152, tar export holds at most 2097151/,
    );
  });
});

describe('format-specific limits', () => {
  it('ext4: refuses a 65 001st hard link (not Node\'s "value out of range")', async () => {
    const t = new Tree({ mtime: T });
    const node = file();
    for (let i = 0; i <= 65000; i++) t.set(`d${i % 100}/l${i}`, node, { mtime: T });
    expect(await refusal('ext4', t)).toMatch(/^ext4: \/d\d+\/l\d+: hard link count 65001, ext4 holds at most 65000; /);
  });

  it('ext4 and the initramfs refuse a file past what they hold (16 TiB − 4 KiB, 4 GiB − 1)', async () => {
    const huge = () => one('huge', makeNode('file', { mtime: T }, { content: { size: 2 ** 44, pieces: [] } }));
    expect(await refusal('ext4', huge())).toMatch(
      /\/huge: file size 17592186044416 bytes, ext4 holds at most 17592186040320 bytes/,
    );
    expect(await refusal('cpio', huge())).toMatch(
      /\/huge: file size 17592186044416 bytes, .* holds at most 4294967295 bytes/,
    );
  });

  it('cpio: refuses a path over 4095 bytes (the kernel skips it), ext4 takes it', async () => {
    const deep = Array.from({ length: 20 }, () => 'd'.repeat(204)).join('/'); // 20 × 205 − 1 = 4099 bytes
    expect(await refusal('cpio', one(deep, file()))).toMatch(
      /: path of 4099 bytes, initramfs \(newc cpio\) holds at most 4095 bytes; /,
    );
    const img = await write('ext4', one(deep, file()));
    expect(spawnSync('e2fsck', ['-fn', img]).status).toBe(0);
  });

  it('names an entry with a control byte quoted, on one line', async () => {
    expect(await refusal('squashfs', one(`bad\n\x1b[2J${'x'.repeat(300)}`, file()))).toMatch(
      /^squashfs: \/bad\\n\\033\[2Jx{300}: name of 308 bytes/,
    );
  });
});
