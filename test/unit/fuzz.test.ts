// Property tests (fast-check) over what reads hostile input: the tar reader (random
// bytes and mutated headers), the layer applier (random entry sequences), the TOML
// config checkers and the image config's JSON checker, and every writer's limit check
// (random trees). In CI: a fixed seed and a small budget; `npm run fuzz` runs longer
// with a fresh seed (FUZZ_RUNS, FUZZ_SEED). A failure prints the seed and the shrunk
// case: each one found becomes a plain test (test/hostile-tar.test.ts, limits.test.ts).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTRFS_LIMITS } from '../../src/btrfs/limits.js';
import { checkFledgeConfig } from '../../src/config/fledge.js';
import { checkManifestTemplate } from '../../src/config/manifest.js';
import { NEWC_LIMITS } from '../../src/cpio/limits.js';
import { writeNewc } from '../../src/cpio/newc.js';
import { BuildError } from '../../src/errors.js';
import { EXT4_LIMITS } from '../../src/ext4/limits.js';
import { TAR_LIMITS } from '../../src/export/limits.js';
import { writePaxTar } from '../../src/export/tar.js';
import { applyLayer } from '../../src/oci/apply.js';
import { diffIds } from '../../src/oci/image.js';
import { readTar, type TarEntry, type TarEntryType, TarError } from '../../src/oci/tar.js';
import { SQUASHFS_LIMITS } from '../../src/squashfs/limits.js';
import { bytesContent } from '../../src/tree/content.js';
import { checkLimits, LimitError } from '../../src/tree/limits.js';
import { makeNode, type NodeType, Tree } from '../../src/tree/tree.js';
import { XFS_LIMITS } from '../../src/xfs/limits.js';
import { base256, entry, tarOf } from '../helpers/tar-craft.js';

const LONG = process.env.FUZZ_RUNS !== undefined;
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);
const params = { numRuns: RUNS, seed: LONG && process.env.FUZZ_SEED === undefined ? undefined : SEED };
const scratch = mkdtempSync(join(tmpdir(), 'fp-fuzz-'));
let n = 0;

function tarFile(bytes: Uint8Array): string {
  const p = join(scratch, `f${n++ % 64}.tar`);
  writeFileSync(p, bytes);
  return p;
}

/** Reads (and applies) the archive; any error but a TarError, or an applier error line, fails the property. */
function readsCleanly(bytes: Uint8Array): void {
  try {
    applyLayer(new Tree(), readTar(tarFile(bytes), 'L'), { layerName: 'L' });
  } catch (e) {
    if (e instanceof TarError) return;
    expect((e as Error).constructor).toBe(Error);
    expect((e as Error).message).toMatch(/^L: entry /);
  }
}

/** Recomputes a header's checksum so that a mutated header gets past it. */
function reseal(tar: Buffer, at: number): void {
  tar.fill(' ', at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += tar[i]!;
  tar.write(sum.toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
}

const SAMPLE = tarOf(
  entry({ name: 'dir/', type: '5' }),
  entry({ name: 'dir/file', data: Buffer.from('hello world') }, [
    ['path', 'dir/long-' + 'x'.repeat(120)],
    ['SCHILY.xattr.user.a', 'v'],
  ]),
  entry({ name: 'link', type: '2', linkname: 'dir/file' }),
  entry({ name: 'hard', type: '1', linkname: 'dir/file' }),
  entry({ name: 'sp', data: Buffer.from('abc') }, [
    ['GNU.sparse.map', '0,1,100,2'],
    ['GNU.sparse.size', '200'],
  ]),
);

describe('fuzz: tar reader', () => {
  it('random bytes: a TarError or entries, never a hang or another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (b) => readsCleanly(b)),
      params,
    );
  });

  it('mutated headers (checksums recomputed): a TarError or entries', () => {
    const headers = [0, 512, 1024, 2048, 2560, 3072, 3584].filter((o) => o < SAMPLE.length);
    const mutation = fc.record({
      header: fc.constantFrom(...headers),
      edits: fc.array(fc.record({ at: fc.integer({ min: 0, max: 511 }), byte: fc.integer({ min: 0, max: 255 }) }), {
        minLength: 1,
        maxLength: 8,
      }),
      cut: fc.option(fc.integer({ min: 0, max: SAMPLE.length })),
    });
    fc.assert(
      fc.property(mutation, ({ header, edits, cut }) => {
        const tar = Buffer.from(SAMPLE);
        for (const { at, byte } of edits) tar[header + at] = byte;
        reseal(tar, header);
        readsCleanly(cut === null ? tar : tar.subarray(0, cut));
      }),
      params,
    );
  });

  it('numeric fields of any value, octal or base-256: refused out of range, never wrapped', () => {
    const field = fc.constantFrom(
      ['size', 12],
      ['uid', 8],
      ['gid', 8],
      ['mode', 8],
      ['mtime', 12],
      ['devmajor', 8],
      ['devminor', 8],
    ) as fc.Arbitrary<[string, number]>;
    // values a base-256 field of len bytes can hold: two's complement in 8·len − 1 bits
    const valued = field.chain(([name, len]) =>
      fc.tuple(
        fc.constant([name, len] as [string, number]),
        fc.bigInt({ min: -(2n ** BigInt(8 * len - 2)), max: 2n ** BigInt(8 * len - 2) - 1n }),
      ),
    );
    fc.assert(
      fc.property(valued, ([[name, len], v]) => {
        const raw = base256(v, len);
        try {
          const [e] = [...readTar(tarFile(tarOf(entry({ name: 'f', type: '3', [name]: raw }))), 'L')];
          if (name === 'uid' || name === 'gid' || name === 'devmajor' || name === 'devminor')
            expect(BigInt((e as unknown as Record<string, number>)[name]!)).toBe(v);
        } catch (e) {
          expect(e).toBeInstanceOf(TarError);
        }
      }),
      params,
    );
  });
});

const NAME_PART = fc.constantFrom(
  'a',
  'b',
  '.',
  '..',
  '',
  '.wh.a',
  '.wh.b',
  '.wh..wh..opq',
  '.wh.',
  'lost+found',
  'c/d',
);
const ENTRY_TYPES: TarEntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const rawEntry = fc.record({
  name: fc.array(NAME_PART, { minLength: 0, maxLength: 4 }).map((p) => p.join('/')),
  type: fc.constantFrom(...ENTRY_TYPES),
  link: fc.array(NAME_PART, { maxLength: 3 }).map((p) => p.join('/')),
  absolute: fc.boolean(),
});

describe('fuzz: layer applier', () => {
  it('random entry sequences over several layers: a one-line error naming the entry, or a sane tree', () => {
    fc.assert(
      fc.property(fc.array(fc.array(rawEntry, { maxLength: 12 }), { minLength: 1, maxLength: 3 }), (layers) => {
        const tree = new Tree();
        for (const layer of layers) {
          const entries: TarEntry[] = layer.map((r, i) => ({
            name: Buffer.from(r.name),
            type: r.type,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: { sec: 0, nsec: 0 },
            linkname: Buffer.from((r.absolute ? '/' : '') + r.link),
            devmajor: 1,
            devminor: 3,
            size: 0,
            xattrs: new Map(),
            content: { size: 0, pieces: [] },
            offset: i * 512,
          }));
          try {
            applyLayer(tree, entries, { layerName: 'L' });
          } catch (e) {
            expect((e as Error).message).toMatch(/^L: entry "/);
            expect((e as Error).message).not.toContain('\n');
            return;
          }
        }
        for (const { path } of tree.walk()) {
          const parts = path.toString('latin1').split('/');
          expect(parts.every((p) => p !== '' && p !== '.' && p !== '..')).toBe(true);
        }
      }),
      params,
    );
  });
});

/** A TOML value of any shape (strings with hostile characters, huge numbers, nested tables). */
const tomlValue: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string().map((s) => JSON.stringify(s)),
    fc.constantFrom(
      '1e12',
      '-1',
      '0',
      '65536',
      '1.5',
      'nan',
      'inf',
      '9223372036854775807',
      'true',
      '"__proto__"',
      '"1G"',
      '""',
    ),
    fc.integer().map(String),
    fc.array(tie('value'), { maxLength: 3 }).map((a) => `[${a.join(', ')}]`),
    fc.dictionary(fc.constantFrom('a', 'port', 'path', '__proto__', 'constructor'), tie('value'), { maxKeys: 3 }).map(
      (d) =>
        `{ ${Object.entries(d)
          .map(([k, v]) => `"${k}" = ${v}`)
          .join(', ')} }`,
    ),
  ),
})).value;

const FLEDGE_KEYS = [
  'version',
  'strategy',
  'agent',
  'source',
  'filesystem',
  'init',
  'mappings',
  'type',
  'size_buffer_mb',
  'compression',
  'block_size',
  'image',
  'busybox_url',
  'path',
  '__proto__',
];
const MANIFEST_KEYS = [
  'name',
  'version',
  'runtime',
  'workload',
  'resources',
  'network',
  'labels',
  'env',
  'entrypoint',
  'cpu_cores',
  'memory_mb',
  'health_check',
  '__proto__',
  'constructor',
];

function tomlDoc(keys: string[]): fc.Arbitrary<string> {
  const line = fc.tuple(fc.constantFrom(...keys), tomlValue).map(([k, v]) => `${k} = ${v}`);
  const section = fc
    .tuple(fc.constantFrom(...keys), fc.array(line, { maxLength: 4 }))
    .map(([s, ls]) => `[${s}]\n${ls.join('\n')}`);
  return fc
    .tuple(fc.array(line, { maxLength: 5 }), fc.array(section, { maxLength: 4 }))
    .map(([top, secs]) => [...top, ...secs].join('\n') + '\n');
}

describe('fuzz: config checkers', () => {
  for (const [what, check, keys] of [
    ['fledge.toml', checkFledgeConfig, FLEDGE_KEYS],
    ['manifest.toml', checkManifestTemplate, MANIFEST_KEYS],
  ] as const) {
    it(`${what}: problems with a message, never a thrown JS error`, () => {
      fc.assert(
        fc.property(fc.oneof(tomlDoc([...keys]), fc.string()), (text) => {
          const file = join(scratch, `c${n++ % 64}.toml`);
          writeFileSync(file, text);
          const r = (check as (f: string) => { problems: Array<{ message: string }> })(file);
          for (const p of r.problems) expect(p.message.length).toBeGreaterThan(0);
        }),
        params,
      );
    });
  }

  it('image config JSON (rootfs.diff_ids): a BuildError or the ids, for any JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), fc.nat(3), (text, layers) => {
        try {
          diffIds(Buffer.from(text), layers, 'img');
        } catch (e) {
          expect(e).toBeInstanceOf(BuildError);
        }
      }),
      params,
    );
  });
});

const NODE_TYPES: NodeType[] = ['file', 'dir', 'symlink', 'char', 'block', 'fifo'];
const edgeNumber = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom(-1, 4095, 4096, 1048575, 1048576, 2097151, 2097152, 2 ** 32 - 1, 2 ** 32, 2 ** 53),
);
const randomNode = fc.record({
  path: fc
    .array(
      fc.oneof(
        fc.constantFrom('a', 'b', 'TRAILER!!!'),
        fc.integer({ min: 250, max: 260 }).map((k) => 'n'.repeat(k)),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((p) => p.join('/')),
  type: fc.constantFrom(...NODE_TYPES),
  uid: edgeNumber,
  gid: edgeNumber,
  major: edgeNumber,
  minor: edgeNumber,
  target: fc.integer({ min: 1, max: 4100 }),
});

describe('fuzz: writer limit checks', () => {
  it("a tree that passes a format's check is written without error (cpio, tar); one that fails gets a LimitError", () => {
    fc.assert(
      fc.property(fc.array(randomNode, { minLength: 1, maxLength: 6 }), (specs) => {
        const tree = new Tree();
        for (const s of specs) {
          const extra =
            s.type === 'file'
              ? { content: bytesContent(Buffer.from('x')) }
              : s.type === 'symlink'
                ? { target: Buffer.alloc(s.target, 0x74) }
                : s.type === 'char' || s.type === 'block'
                  ? { rdev: { major: s.major, minor: s.minor } }
                  : {};
          try {
            tree.set(s.path, makeNode(s.type, { uid: s.uid, gid: s.gid }, extra));
          } catch {
            // a non-directory in the way: that path is simply not in this tree
          }
        }
        for (const [limits, write] of [
          [NEWC_LIMITS, (t: Tree) => writeNewc(t, () => {})],
          [TAR_LIMITS, (t: Tree) => writePaxTar(t, () => {})],
          [EXT4_LIMITS, undefined],
          [XFS_LIMITS, undefined],
          [BTRFS_LIMITS, undefined],
          [SQUASHFS_LIMITS, undefined],
        ] as const) {
          let ok = true;
          try {
            checkLimits(tree, limits);
          } catch (e) {
            expect(e).toBeInstanceOf(LimitError);
            ok = false;
          }
          if (ok && write) write(tree);
          if (!ok && write) expect(() => write(tree)).toThrow(LimitError);
        }
      }),
      params,
    );
  });
});
