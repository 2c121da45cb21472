// The tar reader, checked on archives written by GNU tar (pax, gnu and oldgnu formats,
// xattrs, sparse files in every GNU sparse format). The hand-built pax archive with a
// binary xattr value is in test/unit/tar-pax.test.ts.
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  linkSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar, type TarEntry } from '../src/oci/tar.js';
import { readContent } from '../src/tree/content.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-tar-'));
let n = 0;

/** A fresh folder under the scratch folder. */
function dir(): string {
  const d = join(scratch, `d${n++}`);
  mkdirSync(d);
  return d;
}

/** GNU tar run in `cwd`, writing a new archive; returns its path. */
function gnuTar(cwd: string, args: string[]): string {
  const out = join(scratch, `t${n++}.tar`);
  execFileSync('tar', ['-cf', out, ...args], { cwd });
  return out;
}

function entries(path: string): Map<string, TarEntry> {
  return new Map([...readTar(path)].map((e) => [e.name.toString('utf8'), e]));
}

function bytesOf(e: TarEntry): Buffer {
  return Buffer.concat([...readContent(e.content)]);
}

function mtimeOf(path: string): { sec: number; nsec: number } {
  const ns = lstatSync(path, { bigint: true }).mtimeNs;
  const sec = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  return { sec: Number(sec), nsec: Number(ns - sec * 1_000_000_000n) };
}

/** A sparse file: `size` bytes with `segments` of data at the given offsets. */
function sparseFile(path: string, size: number, segments: Array<[number, string]>): Buffer {
  writeFileSync(path, '');
  truncateSync(path, size);
  const fd = openSync(path, 'r+');
  for (const [at, text] of segments) writeSync(fd, Buffer.from(text), 0, text.length, at);
  closeSync(fd);
  return readFileSync(path);
}

describe('tar reader on GNU tar pax archives', () => {
  const src = dir();
  const long = 'l'.repeat(60) + '/' + 'n'.repeat(120); // > 100 bytes: pax path
  mkdirSync(join(src, 'sub'));
  mkdirSync(join(src, 'l'.repeat(60)));
  writeFileSync(join(src, 'sub/file'), 'hello\n');
  writeFileSync(join(src, long), 'long\n');
  symlinkSync('../' + 't'.repeat(150), join(src, 'sub/link')); // > 100 bytes: pax linkpath
  linkSync(join(src, 'sub/file'), join(src, 'sub/hard'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
  execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
  writeFileSync(join(src, 'old'), '');
  execFileSync('touch', ['-h', '-d', '1960-01-01 00:00:00.5', join(src, 'old')]);
  const tar = gnuTar(src, ['--format=pax', '--owner=70000', '--group=70001', '--numeric-owner', '--sort=name', '.']);
  const es = entries(tar);

  it('reads every entry with its type', () => {
    const types = Object.fromEntries([...es].map(([k, e]) => [k, e.type]));
    expect(types).toEqual({
      './': 'dir',
      './fifo': 'fifo',
      [`./${'l'.repeat(60)}/`]: 'dir',
      [`./${long}`]: 'file',
      './null': 'char',
      './old': 'file',
      './sub/': 'dir',
      './sub/file': 'file',
      './sub/hard': 'hardlink',
      './sub/link': 'symlink',
    });
  });

  it('takes long names and link targets from pax records', () => {
    expect(bytesOf(es.get(`./${long}`)!).toString()).toBe('long\n');
    expect(es.get('./sub/link')!.linkname.toString()).toBe('../' + 't'.repeat(150));
    expect(es.get('./sub/hard')!.linkname.toString()).toBe('./sub/file');
  });

  it('gives owners, modes, device numbers and nanosecond mtimes', () => {
    const f = es.get('./sub/file')!;
    expect([f.uid, f.gid, f.mode, f.size]).toEqual([70000, 70001, lstatSync(join(src, 'sub/file')).mode & 0o7777, 6]);
    expect(f.mtime).toEqual(mtimeOf(join(src, 'sub/file')));
    expect(f.mtime.nsec).not.toBe(0);
    expect([es.get('./null')!.devmajor, es.get('./null')!.devminor]).toEqual([1, 3]);
    // before 1970, fractional: -315619199.5 s
    expect(es.get('./old')!.mtime).toEqual({ sec: -315619200, nsec: 500_000_000 });
  });

  it('references file data as a region of the tar, never a copy', () => {
    const f = es.get('./sub/file')!;
    expect(f.content.pieces).toHaveLength(1);
    const p = f.content.pieces[0]!;
    expect('file' in p && p.file).toBe(tar);
    expect(
      'from' in p &&
        readFileSync(tar)
          .subarray(p.from, p.from + 6)
          .toString(),
    ).toBe('hello\n');
  });

  it('applies pax global headers to every later entry', () => {
    const d = dir();
    writeFileSync(join(d, 'a'), 'a');
    writeFileSync(join(d, 'b'), 'b');
    const es = [...readTar(gnuTar(d, ['--format=pax', '--pax-option=uid=4242', 'a', 'b']))];
    expect(es.map((e) => [e.name.toString(), e.uid])).toEqual([
      ['a', 4242],
      ['b', 4242],
    ]);
  });
});

describe('tar reader: xattrs', () => {
  it('keeps xattr values from GNU tar byte-exact (binary security.capability)', () => {
    const d = dir();
    writeFileSync(join(d, 'ping'), 'x');
    // cap_net_raw+ep, v2: has 0x00 bytes
    execFileSync('setfattr', [
      '-n',
      'security.capability',
      '-v',
      '0x0100000200200000000000000000000000000000',
      join(d, 'ping'),
    ]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'héllo=\nworld', join(d, 'ping')]);
    const [e] = [...readTar(gnuTar(d, ['--format=pax', '--xattrs', '--xattrs-include=*', 'ping']))];
    expect(Buffer.from(e!.xattrs.get('security.capability')!).toString('hex')).toBe(
      '0100000200200000000000000000000000000000',
    );
    expect(Buffer.from(e!.xattrs.get('user.note')!).toString('utf8')).toBe('héllo=\nworld');
  });
});

describe('tar reader on GNU tar gnu-format archives', () => {
  const src = dir();
  const long = 'x'.repeat(130);
  writeFileSync(join(src, long), 'long name\n');
  symlinkSync('y'.repeat(140), join(src, 's'));
  writeFileSync(join(src, 'old'), '');
  execFileSync('touch', ['-h', '-d', '1960-01-01', join(src, 'old')]);
  // 3000000 > 0o7777777: GNU tar writes uid and gid in base-256; a negative mtime too
  const tar = gnuTar(src, ['--format=gnu', '--owner=3000000', '--group=3000000', '--numeric-owner', long, 's', 'old']);
  const es = entries(tar);

  it('reads GNU L and K long names', () => {
    expect(bytesOf(es.get(long)!).toString()).toBe('long name\n');
    expect(es.get('s')!.linkname.toString()).toBe('y'.repeat(140));
  });

  it('reads base-256 numbers, negative ones too', () => {
    const raw = readFileSync(tar);
    expect([...es.values()].every((e) => e.uid === 3000000 && e.gid === 3000000)).toBe(true);
    expect(raw.subarray(es.get('old')!.offset + 108)[0]! & 0x80).toBe(0x80);
    expect(es.get('old')!.mtime).toEqual(mtimeOf(join(src, 'old')));
    expect(es.get('old')!.mtime.sec).toBeLessThan(0);
  });
});

describe('tar reader: sparse files', () => {
  const src = dir();
  const M = 1 << 20;
  const small = sparseFile(join(src, 'small'), 3 * M, [
    [M, 'hello'],
    [2 * M, 'end'],
  ]);
  // 30 data segments: more than the 4 + 21 slots of an old GNU header and one extension block
  const many = sparseFile(
    join(src, 'many'),
    64 * M,
    Array.from({ length: 30 }, (_, i): [number, string] => [i * 2 * M + 4096 * 3, `segment ${i}`]),
  );

  const check = (tar: string) => {
    const es = entries(tar);
    for (const [name, bytes, segments] of [
      ['small', small, 2],
      ['many', many, 30],
    ] as const) {
      const e = es.get(name)!;
      expect(e.type).toBe('file');
      expect(e.size).toBe(bytes.length);
      expect(e.content.pieces).toHaveLength(segments); // holes stay holes
      expect(e.content.pieces.every((p) => 'file' in p && p.length <= 8192)).toBe(true);
      expect(bytesOf(e).equals(bytes)).toBe(true);
    }
  };

  for (const v of ['0.0', '0.1', '1.0']) {
    it(`reads pax sparse format ${v}`, () =>
      check(gnuTar(src, ['--format=pax', '--sparse', `--sparse-version=${v}`, 'small', 'many'])));
  }

  it("reads old GNU sparse entries (type 'S', with extension headers)", () => {
    const tar = gnuTar(src, ['--format=oldgnu', '--sparse', 'small', 'many']);
    const raw = readFileSync(tar);
    const es = entries(tar);
    expect(String.fromCharCode(raw[es.get('many')!.offset + 156]!)).toBe('S');
    expect(raw[es.get('many')!.offset + 482]).toBe(1); // isextended
    check(tar);
  });
});

describe('tar reader: errors', () => {
  const src = dir();
  writeFileSync(join(src, 'a'), 'a'.repeat(2000));
  writeFileSync(join(src, 'b'), 'b');
  const tar = gnuTar(src, ['--format=pax', 'a', 'b']);

  it('names the offset of a header with a bad checksum', () => {
    const raw = readFileSync(tar);
    const es = [...readTar(tar)];
    const bad = Buffer.from(raw);
    bad[es[1]!.offset + 1] ^= 1;
    const path = join(scratch, 'bad.tar');
    writeFileSync(path, bad);
    expect(() => [...readTar(path)]).toThrow(new RegExp(`entry at byte ${es[1]!.offset}: bad header checksum`));
  });

  it('says an archive cut inside file data is truncated', () => {
    const raw = readFileSync(tar);
    const a = [...readTar(tar)][0]!;
    const path = join(scratch, 'cut.tar');
    writeFileSync(path, raw.subarray(0, a.offset + 512 + 1000));
    expect(() => [...readTar(path)]).toThrow(/entry "a" at byte \d+: truncated archive/);
  });

  it('says an archive cut inside a header is truncated', () => {
    const raw = readFileSync(tar);
    const b = [...readTar(tar)][1]!;
    const path = join(scratch, 'cut2.tar');
    writeFileSync(path, raw.subarray(0, b.offset + 100));
    expect(() => [...readTar(path)]).toThrow(new RegExp(`truncated archive: header at byte ${b.offset}`));
  });
});
