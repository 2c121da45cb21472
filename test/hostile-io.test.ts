// Hostile and broken input, the I/O side (issue 11): outputs that are not plain files,
// config files that are devices, binary or huge, JSON documents of every wrong shape,
// blobs that lie about their digest or point out of their layout. Each case: the exit
// code, one line naming the problem, no partial file, no host file content in the
// output, bounded time and memory.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNoPartials, expectOneLineFailure, GOOD, layerTar, runMeasured, writeLayout } from './helpers/hostile.js';

const BUSYBOX = readFileSync('/bin/busybox');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HOST_SECRET = /root:x?:0:0|\/bin\/bash/; // /etc/passwd's first line
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

function exportTo(layout: string, output: string, cwd = tmp('fp-out-')) {
  return runMeasured(['export', `oci:${layout}:x`, '-o', output, '-q'], { cwd });
}

describe('outputs that are not a plain file in an existing folder', () => {
  const layout = writeLayout();

  it('writes a device directly and never replaces it (-o /dev/null)', async () => {
    const before = statSync('/dev/null');
    const r = await exportTo(layout, '/dev/null');
    expect(r.code, r.stderr).toBe(0);
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect([after.rdev, after.ino]).toEqual([before.rdev, before.ino]);
    expect(readdirSync('/dev').filter((n) => n.endsWith('.partial'))).toEqual([]);
  });

  it('writes the tar to stdout with -o - (and prints nothing else there)', async () => {
    const cwd = tmp('fp-out-');
    const file = await exportTo(layout, join(cwd, 'a.tar'), cwd);
    expect(file.code).toBe(0);
    const r = await exportTo(layout, '-', cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.equals(readFileSync(join(cwd, 'a.tar')))).toBe(true);
    expect(execFileSync('bsdtar', ['-tf', '-'], { input: r.stdout }).toString()).toMatch(/hello/);
    expect(readdirSync(cwd).sort()).toEqual(['a.tar']);
  });

  it('writes into a FIFO as a stream', async () => {
    const cwd = tmp('fp-out-');
    execFileSync('mkfifo', [join(cwd, 'pipe')]);
    const reader = spawn('sh', ['-c', 'cat pipe > got.tar'], { cwd });
    const done = new Promise((res) => reader.on('close', res));
    const r = await exportTo(layout, join(cwd, 'pipe'), cwd);
    await done;
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(join(cwd, 'pipe')).isFIFO()).toBe(true);
    expect(execFileSync('bsdtar', ['-tf', join(cwd, 'got.tar')]).toString()).toMatch(/hello/);
  });

  it('refuses a folder, a missing folder, a read-only filesystem and a 300-byte name with one line each', async () => {
    const cwd = tmp('fp-out-');
    mkdirSync(join(cwd, 'dir'));
    expectOneLineFailure(
      await exportTo(layout, join(cwd, 'dir'), cwd),
      2,
      /output .*dir: is a folder; give a file name/,
    );
    expectOneLineFailure(
      await exportTo(layout, join(cwd, 'nope', 'x.tar'), cwd),
      2,
      /folder .*nope does not exist; create it first/,
    );
    expectOneLineFailure(
      await exportTo(layout, join(cwd, 'n'.repeat(300)), cwd),
      2,
      /the name is 300 bytes, more than the 255/,
    );
    expectOneLineFailure(
      await exportTo(layout, '/sys/kernel/x.tar', cwd),
      2,
      /no permission to write in \/sys\/kernel/,
    );
    const ro = join(cwd, 'ro');
    mkdirSync(ro);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
    try {
      expectOneLineFailure(await exportTo(layout, join(ro, 'x.tar'), cwd), 2, /ro is on a read-only filesystem/);
    } finally {
      execFileSync('umount', [ro]);
    }
    expect(readdirSync(cwd).sort()).toEqual(['dir', 'ro']);
    expect(readdirSync(join(cwd, 'dir'))).toEqual([]);
  });

  it('a full disk is one line and leaves no partial on it', async () => {
    const big = writeLayout(
      {},
      execFileSync('gzip', ['-1nc'], {
        maxBuffer: 1 << 28,
        input: layerTar({ random: randomBytes(3 << 20).toString('latin1') }),
      }),
    );
    const cwd = tmp('fp-out-');
    const full = join(cwd, 'full');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    try {
      const r = await exportTo(big, join(full, 'x.tar'), cwd);
      expectOneLineFailure(
        r,
        1,
        /output .*full\/x.tar: no space left on the filesystem of .*full; free some space or write elsewhere/,
      );
      expect(readdirSync(full)).toEqual([]);
    } finally {
      execFileSync('umount', [full]);
    }
  });

  it('writes a name of 250 bytes (its temp file gets a shorter name)', async () => {
    const cwd = tmp('fp-out-');
    const r = await exportTo(layout, join(cwd, 'n'.repeat(250)), cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual(['n'.repeat(250)]);
  });

  it('refuses a filesystem image to a device, and build --output -', async () => {
    const cwd = tmp('fp-proj-');
    writeFileSync(join(cwd, 'kestrel'), BUSYBOX, { mode: 0o755 });
    writeFileSync(
      join(cwd, 'fledge.toml'),
      `version = "1"\nstrategy = "oci_rootfs"\n[agent]\nsource_strategy = "local"\npath = "./kestrel"\n` +
        `[source]\nimage = "oci:${layout}:x"\n[filesystem]\ntype = "ext4"\n`,
    );
    expectOneLineFailure(
      await runMeasured(['build', '-q', '-o', '/dev/null'], { cwd }),
      2,
      /output \/dev\/null: is not a regular file, and a filesystem image is written at positions/,
    );
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expectOneLineFailure(
      await runMeasured(['build', '-q', '-o', '-'], { cwd }),
      2,
      /--output -: build writes the artifact and manifest.json as files/,
    );
    expect(readdirSync(cwd).sort()).toEqual(['fledge.toml', 'kestrel']);
    expectNoPartials(cwd);
  });
});

describe('config files that are not small UTF-8 text', () => {
  const cwd = tmp('fp-cfg-');
  const validate = (...args: string[]) => runMeasured(['validate', ...args], { cwd });

  it('refuses devices and FIFOs without reading them (/dev/zero, /dev/urandom)', async () => {
    const r = await validate('--config', '/dev/zero');
    expect([r.code, r.stderr]).toEqual([
      2,
      expect.stringMatching(/^\/dev\/zero: is not a regular file \(a device, FIFO or socket\)[^\n]*\n$/),
    ]);
    expect(r.rssMiB).toBeLessThan(300);
    const b = await runMeasured(['build', '--config', '/dev/zero'], { cwd });
    expectOneLineFailure(b, 2, /\/dev\/zero: is not a regular file/, { ms: 20_000, rssMiB: 300 });
    const m = await validate('--config', '/dev/zero', '--manifest', '/dev/urandom');
    expect(m.stderr).toMatch(/\/dev\/urandom: is not a regular file/);
    expect(m.code).toBe(2);
    expect(m.rssMiB).toBeLessThan(300);
    execFileSync('mkfifo', [join(cwd, 'fifo.toml')]);
    const f = await validate('--config', 'fifo.toml');
    expect([f.code, f.stderr]).toEqual([2, expect.stringMatching(/fifo.toml: is not a regular file/)]);
  });

  it('refuses a config over 1 MiB and one that is not UTF-8', async () => {
    writeFileSync(join(cwd, 'big.toml'), `version = "1"\n${'#'.repeat(2 << 20)}\n`);
    const big = await validate('--config', 'big.toml');
    expect([big.code, big.stderr]).toEqual([
      2,
      'big.toml: is 2097167 bytes, more than a config file can be (1 MiB); is this the right file?\n',
    ]);
    writeFileSync(join(cwd, 'bin.toml'), Buffer.from([0x76, 0x3d, 0x22, 0xff, 0xfe, 0x22, 0x0a]));
    const bin = await validate('--config', 'bin.toml');
    expect([bin.code, bin.stderr]).toEqual([
      2,
      'bin.toml: is not UTF-8 text (TOML files are UTF-8); is this the right file? Save it as UTF-8\n',
    ]);
  });

  it('checks the range of every number, and refuses floats where integers go', async () => {
    const fledge = (fs: string) =>
      `version = "1"\nstrategy = "oci_rootfs"\n[agent]\nsource_strategy = "local"\npath = "/bin/sh"\n` +
      `[source]\nimage = "nginx"\n[filesystem]\ntype = "ext4"\n${fs}\n`;
    const cases: [string, RegExp][] = [
      ['size_buffer_mb = 1000000000000', /size_buffer_mb: must be between 0 and 1048576 \(got 1000000000000\)/],
      ['size_buffer_mb = 1e12', /size_buffer_mb: must be an integer, not a float \(1e12\)/],
      ['size_buffer_mb = 100.0', /size_buffer_mb: must be an integer, not a float \(100.0\)/],
      ['block_size = inf', /block_size: must be an integer, not a float/],
      ['compression_level = -1', /compression_level: must be between 1 and 22/],
    ];
    for (const [line, problem] of cases) {
      writeFileSync(join(cwd, 'f.toml'), fledge(line));
      const r = await validate('--config', 'f.toml');
      expect(r.code, line).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), line).toHaveLength(1);
      expect(r.stderr, line).toMatch(problem);
    }
    const manifest = (extra: string) =>
      `name = "x"\nversion = "1"\nruntime = "x"\n[workload]\nbase_url = "http://127.0.0.1:1"\nentrypoint = "/x"\n${extra}\n`;
    for (const [extra, problem] of [
      ['[resources]\nmemory_mb = 99999999999', /memory_mb: must be between 128 and 1048576/],
      ['[resources]\ncpu_cores = 2.5', /cpu_cores: must be an integer, not a float \(2.5\)/],
      ['[health_check]\nendpoint = "/h"\ntimeout_ms = 1e300', /timeout_ms: must be an integer, not a float \(1e300\)/],
    ] as [string, RegExp][]) {
      writeFileSync(join(cwd, 'f.toml'), fledge(''));
      writeFileSync(join(cwd, 'm.toml'), manifest(extra));
      const r = await validate('--config', 'f.toml', '--manifest', 'm.toml');
      expect(r.code, extra).toBe(2);
      expect(r.stderr, extra).toMatch(problem);
    }
  });

  it('keeps __proto__ keys of [labels], [env] and [actions] as data', async () => {
    const dir = tmp('fp-proto-');
    writeFileSync(join(dir, 'busybox'), BUSYBOX);
    writeFileSync(
      join(dir, 'fledge.toml'),
      `version = "1"\nstrategy = "initramfs"\n[source]\nbusybox_url = "./busybox"\n` +
        `busybox_sha256 = "${sha(BUSYBOX)}"\n[init]\nnone = true\n[mappings]\n"./busybox" = "/init"\n`,
    );
    writeFileSync(
      join(dir, 'manifest.toml'),
      `name = "p"\nversion = "1"\nruntime = "p"\n[workload]\nbase_url = "http://127.0.0.1:1"\n` +
        `entrypoint = "/x"\n[env]\n__proto__ = "e"\n[labels]\n"__proto__" = "l"\nconstructor = "c"\n[actions.__proto__]\nmethod = "GET"\npath = "/p"\n`,
    );
    const r = await runMeasured(['build', '-q'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(join(dir, 'p.manifest.json'), 'utf8');
    expect(text).toContain('"env": {\n      "__proto__": "e"\n    }');
    expect(text).toContain('"labels": {\n    "__proto__": "l",\n    "constructor": "c"\n  }');
    expect(text).toContain('"actions": {\n    "__proto__": {\n      "method": "GET"');
  });
});

describe('image JSON documents of the wrong shape', () => {
  const cases: [string, Partial<typeof GOOD>, RegExp][] = [
    [
      'index.json not JSON',
      { index: () => '{"schemaVersion": 2, "manifests": [' },
      /index.json: is not valid JSON \(\d+ bytes\)/,
    ],
    ['index.json an array', { index: () => [] }, /index.json: must be a JSON object, not an array/],
    [
      'manifests null',
      { index: () => ({ schemaVersion: 2, manifests: null }) },
      /index.json: manifests must be an array of descriptors, not null/,
    ],
    [
      'index entry without digest',
      { index: (m) => ({ schemaVersion: 2, manifests: [{ ...m, digest: 7 }] }) },
      /index.json: manifests\[0\].digest must be a string, not a number/,
    ],
    [
      'negative size',
      { index: (m) => ({ schemaVersion: 2, manifests: [{ ...m, size: -1 }] }) },
      /index.json: manifests\[0\].size must be a whole number of bytes/,
    ],
    ['manifest not JSON', { manifest: () => 'nope' }, /manifest sha256:[0-9a-f]{64}: is not valid JSON/],
    [
      'manifest without layers',
      { manifest: (c) => ({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: c }) },
      /manifest sha256:[0-9a-f]{64}: layers must be an array of descriptors, not missing/,
    ],
    [
      'layers an object',
      { manifest: (c, l) => ({ schemaVersion: 2, config: c, layers: { 0: l } }) },
      /layers must be an array of descriptors, not an object/,
    ],
    ['no config', { manifest: (_c, l) => ({ schemaVersion: 2, layers: [l] }) }, /has no config descriptor/],
    [
      'config a string',
      { manifest: (_c, l) => ({ schemaVersion: 2, config: 'sha256:00', layers: [l] }) },
      /config must be a descriptor object, not a string/,
    ],
    [
      'schemaVersion 3',
      { manifest: (c, l) => ({ schemaVersion: 3, config: c, layers: [l] }) },
      /schemaVersion must be 2, not 3/,
    ],
    [
      'bad digest',
      { manifest: (c, l) => ({ schemaVersion: 2, config: c, layers: [{ ...l, digest: '../../etc/passwd' }] }) },
      /layers\[0\].digest is not a digest/,
    ],
    ['config not JSON', { config: () => '\u0000\u0001' }, /image config: is not valid JSON/],
    [
      'config without rootfs',
      { config: () => ({ architecture: 'amd64', os: 'linux' }) },
      /image config: rootfs must be an object, not missing/,
    ],
    [
      'diff_ids not strings',
      { config: () => ({ rootfs: { type: 'layers', diff_ids: [1] } }) },
      /rootfs.diff_ids\[0\] must be a string, not a number/,
    ],
    [
      'config.config a string',
      { config: (d) => ({ rootfs: { type: 'layers', diff_ids: [d] }, config: 'x' }) },
      /image config: config must be an object, not a string/,
    ],
  ];
  for (const [name, parts, problem] of cases) {
    it(name, async () => {
      const cwd = tmp('fp-out-');
      const r = await exportTo(writeLayout(parts), join(cwd, 'x.tar'), cwd);
      expectOneLineFailure(r, 1, problem, { ms: 30_000 });
      expect(r.stderr).toMatch(/the image is malformed|is not a digest/);
      expect(readdirSync(cwd)).toEqual([]);
    });
  }

  it('docker save manifest.json: Config not a string, no Layers, empty, not an array', async () => {
    const tar = layerTar({ hello: 'hi' });
    const config = Buffer.from(JSON.stringify(GOOD.config(`sha256:${sha(tar)}`)));
    for (const [manifest, problem] of [
      [[{ Config: 7, Layers: ['l.tar'] }], /manifest.json: \[0\].Config must be a string, not a number/],
      [
        [{ Config: 'c.json' }],
        /manifest.json: \[0\].Layers must be an array of strings, not undefined|\[0\].Layers must be an array of strings/,
      ],
      [[], /manifest.json: must be a non-empty array of images, not empty/],
      [{ Config: 'c.json' }, /manifest.json: must be a non-empty array of images, not an object/],
      [
        [{ Config: 'c.json', Layers: ['l.tar'], RepoTags: 'x' }],
        /\[0\].RepoTags must be an array of strings, not a string/,
      ],
    ] as [unknown, RegExp][]) {
      const src = tmp('fp-save-');
      writeFileSync(join(src, 'manifest.json'), JSON.stringify(manifest));
      writeFileSync(join(src, 'c.json'), config);
      writeFileSync(join(src, 'l.tar'), tar);
      execFileSync('tar', ['-cf', join(src, 'img.tar'), '-C', src, 'manifest.json', 'c.json', 'l.tar']);
      const r = await runMeasured(
        ['export', `docker-archive:${join(src, 'img.tar')}`, '-o', join(src, 'out.tar'), '-q'],
        { cwd: src },
      );
      expectOneLineFailure(r, 1, problem);
      expect(existsSync(join(src, 'out.tar'))).toBe(false);
    }
  });
});

describe('blobs: digests of every registered algorithm, files inside the layout', () => {
  /** A good layout whose config blob is stored and named under `alg` (tampered after hashing when asked). */
  const layoutWith = (alg: string, tamper = false) => withConfigDigestIn(writeLayout(), alg, tamper);
  function withConfigDigestIn(dir: string, alg: string, tamper: boolean): string {
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const mPath = join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7));
    const m = JSON.parse(readFileSync(mPath, 'utf8'));
    let bytes = readFileSync(join(dir, 'blobs', 'sha256', m.config.digest.slice(7)));
    const hex = createHash(alg).update(bytes).digest('hex');
    if (tamper) bytes = Buffer.from(bytes.toString().replace('amd64', 'arm64'));
    mkdirSync(join(dir, 'blobs', alg), { recursive: true });
    writeFileSync(join(dir, 'blobs', alg, hex), bytes);
    m.config = { ...m.config, digest: `${alg}:${hex}` };
    const mb = Buffer.from(JSON.stringify(m));
    const mhex = createHash('sha256').update(mb).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', mhex), mb);
    index.manifests[0] = { ...index.manifests[0], digest: `sha256:${mhex}`, size: mb.length };
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    return dir;
  }

  it('verifies a sha512 config, refuses a tampered one and an unregistered algorithm', async () => {
    const cwd = tmp('fp-out-');
    const ok = await exportTo(layoutWith('sha512'), join(cwd, 'ok.tar'), cwd);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await exportTo(layoutWith('sha512', true), join(cwd, 'bad.tar'), cwd);
    expectOneLineFailure(
      bad,
      1,
      /config sha512:[0-9a-f]{128} has digest sha512:[0-9a-f]{128}; the image is corrupt or was tampered with/,
    );
    const other = await exportTo(layoutWith('sha384'), join(cwd, 'other.tar'), cwd);
    expectOneLineFailure(
      other,
      1,
      /digest "sha384:[0-9a-f]+" is not sha256:<64 hex> or sha512:<128 hex>; other algorithms are not supported/,
    );
    expect(readdirSync(cwd)).toEqual(['ok.tar']);
  });

  it('never follows a blob symlink out of the layout, and never quotes a host file', async () => {
    for (const target of ['/etc/passwd', '/dev/zero']) {
      const dir = writeLayout();
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      const blob = join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7));
      rmSync(blob);
      symlinkSync(target, blob);
      const cwd = tmp('fp-out-');
      const r = await exportTo(dir, join(cwd, 'x.tar'), cwd);
      expectOneLineFailure(r, 1, /blobs\/sha256\/[0-9a-f]{64} leads outside the layout \(a symlink\)/, {
        ms: 20_000,
        rssMiB: 300,
      });
      expect(r.stderr).not.toMatch(HOST_SECRET);
      expect(r.stdout.toString()).not.toMatch(HOST_SECRET);
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  it('refuses a blob that is a FIFO inside the layout without opening it', async () => {
    const dir = writeLayout();
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const blob = join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7));
    rmSync(blob);
    execFileSync('mkfifo', [blob]);
    const r = await exportTo(dir, join(tmp('fp-out-'), 'x.tar'));
    expectOneLineFailure(r, 1, /is not a regular file \(a device, FIFO or socket\); the layout is malformed/, {
      ms: 20_000,
    });
  });

  it('a manifest blob of a host file reached through a layout symlink to a folder outside is refused', async () => {
    const dir = writeLayout();
    const outside = tmp('fp-outside-');
    writeFileSync(join(outside, 'oci-layout'), 'x');
    rmSync(join(dir, 'blobs'), { recursive: true });
    symlinkSync(outside, join(dir, 'blobs'));
    const r = await exportTo(dir, join(tmp('fp-out-'), 'x.tar'));
    expectOneLineFailure(r, 1, /leads outside the layout|has no blobs/);
    expectNoPartials(dir);
  });
});
