// Hostile layer tars: every header field out of range, negative base-256 numbers, NULs
// in pax names, empty and truncated layers, a root entry that is not a directory. Each
// must give one TarError line naming the layer and the entry, quickly; nothing hangs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildError } from '../src/errors.js';
import { applyLayer } from '../src/oci/apply.js';
import { flatten } from '../src/oci/image.js';
import { openImage } from '../src/oci/sources/open.js';
import { readTar, TarError } from '../src/oci/tar.js';
import { Tree } from '../src/tree/tree.js';
import { runCli } from './helpers/cli.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { base256, entry, type Header, tarOf } from './helpers/tar-craft.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-hostile-tar-'));
let n = 0;

function file(bytes: Buffer): string {
  const p = join(scratch, `t${n++}.tar`);
  writeFileSync(p, bytes);
  return p;
}

/** The error reading (and applying) the archive gives, or undefined. */
function failure(bytes: Buffer, label = 'LAYER'): Error | undefined {
  try {
    applyLayer(new Tree(), readTar(file(bytes), label), { layerName: label });
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('tar header fields out of range', () => {
  const cases: Array<[string, Header]> = [
    ['negative base-256 size', { name: 'f', size: base256(-1n, 12) }],
    ['very negative base-256 size', { name: 'f', size: base256(-(2n ** 80n), 12) }],
    ['size past 2^53', { name: 'f', size: base256(2n ** 60n, 12) }],
    ['negative uid', { name: 'f', uid: base256(-1n, 8) }],
    ['uid 2^32', { name: 'f', uid: base256(2n ** 32n, 8) }],
    ['negative gid', { name: 'f', gid: base256(-5n, 8) }],
    ['gid 2^40', { name: 'f', gid: base256(2n ** 40n, 8) }],
    ['negative mode', { name: 'f', mode: base256(-1n, 8) }],
    ['mtime past 2^53', { name: 'f', mtime: base256(2n ** 62n, 12) }],
    ['negative device major', { name: 'd', type: '4', devmajor: base256(-1n, 8) }],
    ['device minor 2^32', { name: 'd', type: '3', devminor: base256(2n ** 32n, 8) }],
    ['non-octal size', { name: 'f', size: '12x4' }],
    ['non-octal uid', { name: 'f', uid: '9' }],
  ];
  for (const [what, h] of cases) {
    it(`refuses ${what} in one line naming the layer and the entry`, () => {
      const e = failure(tarOf(entry(h)));
      expect(e).toBeInstanceOf(TarError);
      expect(e!.message).toMatch(/^LAYER: entry ("[fd]" )?at byte 0: /);
      expect(e!.message).not.toContain('\n');
    });
  }

  it('keeps a negative base-256 mtime (before 1970: GNU tar writes those)', () => {
    const [e] = [...readTar(file(tarOf(entry({ name: 'f', mtime: base256(-100n, 12) }))))];
    expect(e!.mtime.sec).toBe(-100);
  });

  it('reads the largest ids (2^32 − 1) and base-256 sizes that fit', () => {
    const [e] = [
      ...readTar(
        file(
          tarOf(
            entry({
              name: 'f',
              uid: base256(2n ** 32n - 1n, 8),
              gid: 0o7777777,
              data: Buffer.from('abc'),
              size: base256(3n, 12),
            }),
          ),
        ),
      ),
    ];
    expect([e!.uid, e!.gid, e!.size]).toEqual([2 ** 32 - 1, 0o7777777, 3]);
  });

  const paxCases: Array<[string, Array<[string, string | Buffer]>, RegExp]> = [
    ['uid 2^32', [['uid', '4294967296']], /pax uid 4294967296 is out of range/],
    ['gid -1', [['gid', '-1']], /pax gid="-1" is not a valid number/],
    ['huge size', [['size', '99999999999999999999']], /pax size=.* is not a valid number/],
    ['mtime past 2^53', [['mtime', '99999999999999999999.5']], /pax mtime .* is out of range/],
    ['path with a NUL', [['path', Buffer.from('a\0b')]], /pax path contains a NUL byte/],
    ['linkpath with a NUL', [['linkpath', Buffer.from('/etc\0passwd')]], /pax linkpath contains a NUL byte/],
    [
      'GNU.sparse.name with a NUL',
      [['GNU.sparse.name', Buffer.from('x\0')]],
      /pax GNU.sparse.name contains a NUL byte/,
    ],
  ];
  for (const [what, pax, message] of paxCases) {
    it(`refuses a pax ${what}`, () => {
      const e = failure(tarOf(entry({ name: 'f', type: what.includes('link') ? '2' : '0', linkname: 'x' }, pax)));
      expect(e).toBeInstanceOf(TarError);
      expect(e!.message).toMatch(/^LAYER: entry /);
      expect(e!.message).toMatch(message);
    });
  }

  it('refuses a pax header of more than 1 MiB instead of reading it into memory', () => {
    const e = failure(tarOf(entry({ name: 'f' }, [['comment', 'x'.repeat(2 << 20)]])));
    expect(e).toBeInstanceOf(TarError);
    expect(e!.message).toMatch(/x header of \d+ bytes \(at most 1048576/);
  });
});

describe('empty, truncated and odd layers', () => {
  it('reads an empty (0-byte) layer as a layer with no entries', () => {
    expect([...readTar(file(Buffer.alloc(0)))]).toEqual([]);
  });

  for (const size of [1, 100, 511, 512, 1000]) {
    it(`says a ${size}-byte layer is truncated, in one line`, () => {
      const e = failure(Buffer.alloc(size, 0x41));
      expect(e).toBeInstanceOf(TarError);
      expect(e!.message).toMatch(/^LAYER: (truncated archive|entry at byte 0: )/);
    });
  }

  it('gives a TarError or a complete read for the archive cut at every 64 bytes', () => {
    const src = join(scratch, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a'), 'a'.repeat(3000));
    writeFileSync(join(src, 'l'.repeat(150)), 'long');
    writeFileSync(join(src, 'sparse'), '');
    truncateSync(join(src, 'sparse'), 1 << 20);
    const whole = execFileSync('tar', ['--format=pax', '--sparse', '-cf', '-', '.'], { cwd: src });
    for (let cut = 0; cut < whole.length; cut += 64) {
      const e = failure(whole.subarray(0, cut));
      if (e) expect(e, `cut at ${cut}: ${e.message}`).toBeInstanceOf(TarError);
    }
  });

  for (const [name, type] of [
    ['.', '0'],
    ['/', '2'],
    ['./', '3'],
    ['', '6'],
    ['.', '1'],
  ]) {
    it(`refuses a root entry ${JSON.stringify(name)} of type ${type}`, () => {
      const e = failure(tarOf(entry({ name, type, linkname: 'x' })));
      expect(e!.message).toMatch(/^LAYER: entry .*: the root must be a directory, not a /);
    });
  }
});

describe('found by fuzzing', () => {
  it('a symlink loop above an entry is one line naming the layer and the entry', () => {
    const e = failure(
      tarOf(entry({ name: 'b', type: '2', linkname: 'b' }), entry({ name: 'b/a', data: Buffer.from('x') })),
    );
    expect(e!.message).toMatch(
      /^LAYER: entry "b\/a" \(at byte 512\): its parent \/b: too many levels of symbolic links; /,
    );
  });

  it('so is a hard link whose target path loops', () => {
    const e = failure(
      tarOf(entry({ name: 'l', type: '2', linkname: 'l/x' }), entry({ name: 'h', type: '1', linkname: 'l/y/z' })),
    );
    expect(e!.message).toMatch(/^LAYER: entry "h" \(at byte 512\): its parent .*too many levels of symbolic links; /);
  });
});

describe('through flatten: the message names the image, the layer and the entry', () => {
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });

  it('refuses a layer with a negative uid (it used to become root with setuid kept)', async () => {
    const dir = join(scratch, 'neg-uid');
    writeHardLayout(
      dir,
      [tarOf(entry({ name: 'bin/su', mode: 0o4755, uid: base256(-1n, 8), data: Buffer.from('x') }))],
      'gzip',
    );
    const err = await flatten(await openImage(`oci:${dir}:hard`)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as Error).message).toMatch(
      /: layer 1 of 1 \(sha256:[0-9a-f]{64}\): entry "bin\/su" at byte 0: uid -1 is out of range \(0 to 4294967295\)/,
    );
  });

  it('takes an empty (0-byte) layer blob as an empty layer', async () => {
    const dir = join(scratch, 'empty');
    writeHardLayout(dir, [Buffer.alloc(0), tarOf(entry({ name: 'f', data: Buffer.from('x') }))], 'none');
    const tree = await flatten(await openImage(`oci:${dir}:hard`));
    expect([...tree.walk()].map((e) => e.path.toString())).toEqual(['f']);
  });

  it('says a 3-byte layer blob is truncated (not a buffer-bounds error)', async () => {
    const dir = join(scratch, 'short');
    writeHardLayout(dir, [Buffer.from('abc')], 'none');
    const err = (await flatten(await openImage(`oci:${dir}:hard`)).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(
      /layer 1 of 1 .*: truncated archive: header at byte 0 needs 512 bytes, the layer ends at byte 3$/,
    );
  });
});

describe('through the CLI: exit 1, one line, nothing written', () => {
  // [what, layer, export's error (null: the tar holds it), the ext4 build's error]
  const cases: Array<[string, Buffer, RegExp | null, RegExp]> = [
    [
      'a negative base-256 size (export used to hang)',
      tarOf(entry({ name: 'f', size: base256(-1n, 12) })),
      /: layer 1 of 1 \(sha256:[0-9a-f]{64}\): entry "f" at byte 0: size -1 is out of range/,
      /: layer 1 of 1 \(sha256:[0-9a-f]{64}\): entry "f" at byte 0: size -1 is out of range/,
    ],
    [
      'a device 4104:1048577 (ext4 wrote 8:257)',
      tarOf(entry({ name: 'sdz', type: '4', devmajor: 4104, devminor: 1048577 })),
      null,
      /: \/sdz: device 4104:1048577: major 4104, ext4 holds at most 4095; /,
    ],
    [
      'a 256-byte name',
      tarOf(entry({ name: 'x', data: Buffer.from('x') }, [['path', 'n'.repeat(256)]])),
      /name of 256 bytes, tar export holds at most 255 bytes; /,
      /name of 256 bytes, ext4 holds at most 255 bytes; /,
    ],
  ];
  for (const [what, layer, exportError, buildError] of cases) {
    it(`export and an ext4 build, given ${what}`, async () => {
      const dir = mkdtempSync(join(scratch, 'cli-'));
      writeHardLayout(join(dir, 'img'), [layer], 'gzip', 'bad');
      writeFileSync(
        join(dir, 'fledge.toml'),
        'version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n' +
          'path = "./kestrel"\n\n[source]\nimage = "oci:./img:bad"\n\n[filesystem]\ntype = "ext4"\n',
      );
      writeFileSync(join(dir, 'kestrel'), 'agent');
      const before = readdirSync(dir).sort();
      const build = await runCli(['build', '-q', '-o', 'out.img'], { cwd: dir });
      expect([build.code, build.stderr.split('\n').length], build.stderr).toEqual([1, 2]);
      expect(build.stderr).toMatch(buildError);
      expect(readdirSync(dir).sort()).toEqual(before);
      const exp = await runCli(['export', '-q', 'oci:./img:bad', '-o', 'out.tar'], { cwd: dir });
      if (exportError) {
        expect([exp.code, exp.stderr.split('\n').length], exp.stderr).toEqual([1, 2]);
        expect(exp.stderr).toMatch(exportError);
        expect(readdirSync(dir).sort()).toEqual(before);
      } else expect([exp.code, exp.stderr]).toEqual([0, '']);
    }, 120_000);
  }
});
