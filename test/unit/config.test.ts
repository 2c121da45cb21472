import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFledgeConfig, loadFledgeConfig, formatProblem, ConfigError } from '../../src/config/fledge.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fledge-config-'));
let n = 0;
/** Write `text` as <fresh dir>/fledge.toml and return its path. */
function write(text: string): string {
  const dir = path.join(root, String(n++));
  fs.mkdirSync(dir);
  const file = path.join(dir, 'fledge.toml');
  fs.writeFileSync(file, text);
  return file;
}
/** The formatted problems, with the temp dir shortened to "F". */
function problems(text: string): string[] {
  const file = write(text);
  return checkFledgeConfig(file).problems.map((p) => formatProblem(p).replace(file, 'F'));
}

const OCI = `version = "1"
strategy = "oci_rootfs"

[agent]
source_strategy = "release"
version = "latest"

[source]
image = "nginx:alpine"

[filesystem]
type = "squashfs"
compression_level = 15
overlay_size = "1G"
`;

describe('accepted fledge.toml', () => {
  it('README oci_rootfs squashfs example', () => {
    const file = write(OCI);
    const c = loadFledgeConfig(file);
    expect(c).toEqual({
      file,
      dir: path.dirname(file),
      version: '1',
      strategy: 'oci_rootfs',
      agent: { source_strategy: 'release', version: 'latest' },
      source: { image: 'nginx:alpine', build_args: {} },
      filesystem: {
        type: 'squashfs',
        compression: 'zstd',
        compression_level: 15,
        block_size: 131072,
        overlay_size: '1G',
        size_buffer_mb: 0,
        preallocate: false,
        disk_format: 'raw',
        qcow2_compression: true,
      },
      init: { mode: 'default' },
      mappings: [],
    });
  });

  it('ext4 with size_buffer_mb / preallocate, defaults filled', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "oci_rootfs"
[agent]
source_strategy = "local"
path = "bin/kestrel"
[source]
image = "nginx:alpine"
[filesystem]
type = "ext4"
size_buffer_mb = 100
preallocate = true
`),
    );
    expect(c.filesystem).toEqual({
      type: 'ext4',
      compression: 'zstd',
      compression_level: 15,
      block_size: 131072,
      overlay_size: '1G',
      size_buffer_mb: 100,
      preallocate: true,
      disk_format: 'raw',
      qcow2_compression: true,
    });
    expect(c.agent).toEqual({ source_strategy: 'local', path: path.join(c.dir, 'bin/kestrel') });
  });

  it('empty [filesystem] gets every default', () => {
    const c = loadFledgeConfig(write(OCI.replace(/\[filesystem\][^]*$/, '[filesystem]\n')));
    expect(c.filesystem).toEqual({
      type: 'squashfs',
      compression: 'zstd',
      compression_level: 15,
      block_size: 131072,
      overlay_size: '1G',
      size_buffer_mb: 0,
      preallocate: false,
      disk_format: 'raw',
      qcow2_compression: true,
    });
  });

  it('keys of the other filesystem type are warnings with file:line, not errors and not silence', () => {
    const base = OCI.replace(/\[filesystem\][^]*$/, '');
    const sq = write(`${base}[filesystem]\ntype = "squashfs"\nsize_buffer_mb = 64\npreallocate = true\n`);
    const c = loadFledgeConfig(sq);
    expect(c.warnings!.map((w) => formatProblem(w).replace(sq, 'F'))).toEqual([
      'F:13: filesystem.size_buffer_mb: is only read for ext4/xfs/btrfs images; a squashfs image is ' +
        'sized to its content and the VM writes into a tmpfs overlay of overlay_size; remove it',
      'F:14: filesystem.preallocate: is only read for ext4/xfs/btrfs images; a squashfs image is sized ' +
        'to its content and the VM writes into a tmpfs overlay of overlay_size; remove it',
    ]);
    const ext4 = write(`${base}[filesystem]\ntype = "ext4"\ncompression_level = 9\noverlay_size = "2G"\n`);
    expect(loadFledgeConfig(ext4).warnings!.map((w) => formatProblem(w).replace(ext4, 'F'))).toEqual([
      'F:13: filesystem.compression_level: is only read for squashfs images; this ext4 image is not compressed and is written to directly; remove it',
      'F:14: filesystem.overlay_size: is only read for squashfs images; this ext4 image is not compressed and is written to directly; remove it',
    ]);
    expect(
      loadFledgeConfig(write(`${base}[filesystem]\ntype = "ext4"\nsize_buffer_mb = 8\n`)).warnings,
    ).toBeUndefined();
  });

  it('Dockerfile source: paths resolved, context defaults to the Dockerfile folder', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "oci_rootfs"
[agent]
source_strategy = "release"
version = "latest"
[source]
dockerfile = "./docker/Dockerfile"
target = ""
build_args = { FOO = "bar", N = "2" }
[filesystem]
type = "squashfs"
`),
    );
    expect(c.source).toEqual({
      dockerfile: path.join(c.dir, 'docker/Dockerfile'),
      context: path.join(c.dir, 'docker'),
      build_args: { FOO: 'bar', N: '2' },
    });
  });

  it('explicit context and target', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "initramfs"
[source]
dockerfile = "Dockerfile"
context = ".."
target = "runtime"
[source.build_args]
A = "1"
`),
    );
    expect(c.source).toEqual({
      dockerfile: path.join(c.dir, 'Dockerfile'),
      context: path.dirname(c.dir),
      target: 'runtime',
      build_args: { A: '1' },
    });
  });

  it('initramfs default mode: agent defaults to release/latest, mappings in file order', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "initramfs"

[source]
# busybox_url omitted: the pipeline applies its pinned default

[mappings]
"./myapp" = "/usr/bin/myapp"
"etc/app.conf" = "/etc/app.conf"
"./a" = "/opt/a"
`),
    );
    expect(c.agent).toEqual({ source_strategy: 'release', version: 'latest' });
    expect(c.init).toEqual({ mode: 'default' });
    expect(c.filesystem).toBeUndefined();
    expect(c.source).toEqual({ build_args: {} });
    expect(c.mappings).toEqual([
      { source: path.join(c.dir, 'myapp'), destination: '/usr/bin/myapp' },
      { source: path.join(c.dir, 'etc/app.conf'), destination: '/etc/app.conf' },
      { source: path.join(c.dir, 'a'), destination: '/opt/a' },
    ]);
  });

  it('initramfs default mode with explicit http agent and busybox', () => {
    const sha = 'AB'.repeat(32);
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "initramfs"
[agent]
source_strategy = "http"
url = "https://example.com/kestrel"
checksum = "sha256:${sha}"
[source]
busybox_url = "https://busybox.net/downloads/binaries/1.35.0-x86_64-linux-musl/busybox"
busybox_sha256 = "6e123e7f3202a8c1e9b1f94d8941580a25135382b99e8d3e34fb858bba311348"
`),
    );
    expect(c.agent).toEqual({ source_strategy: 'http', url: 'https://example.com/kestrel', checksum: 'ab'.repeat(32) });
    expect(c.source.busybox_sha256).toBe('6e123e7f3202a8c1e9b1f94d8941580a25135382b99e8d3e34fb858bba311348');
  });

  it('busybox_url may be a local path (resolved) or a file:/// URL (kept)', () => {
    const base = 'version = "1"\nstrategy = "initramfs"\n[source]\n';
    const c = loadFledgeConfig(write(base + 'busybox_url = "./bin/busybox"\n'));
    expect(c.source.busybox_url).toBe(path.join(c.dir, 'bin/busybox'));
    expect(loadFledgeConfig(write(base + 'busybox_url = "file:///opt/busybox"\n')).source.busybox_url).toBe(
      'file:///opt/busybox',
    );
  });

  it('http agent without checksum, checksum without prefix', () => {
    const base = `version = "1"\nstrategy = "initramfs"\n[agent]\nsource_strategy = "http"\nurl = "http://h/k"\n`;
    expect(loadFledgeConfig(write(base)).agent).toEqual({ source_strategy: 'http', url: 'http://h/k' });
    expect(loadFledgeConfig(write(base + `checksum = "${'0'.repeat(64)}"\n`)).agent).toEqual({
      source_strategy: 'http',
      url: 'http://h/k',
      checksum: '0'.repeat(64),
    });
  });

  it('initramfs custom init mode', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "initramfs"
[init]
path = "./my-init"
[source]
busybox_url = "https://busybox.net/downloads/binaries/1.35.0-x86_64-linux-musl/busybox"
[mappings]
"./my-init" = "/init"
`),
    );
    expect(c.init).toEqual({ mode: 'custom', path: path.join(c.dir, 'my-init') });
    expect(c.agent).toBeUndefined();
    expect(c.mappings).toEqual([{ source: path.join(c.dir, 'my-init'), destination: '/init' }]);
  });

  it('initramfs none mode with a top-level inline mappings table', () => {
    const c = loadFledgeConfig(
      write(`version = "1"
strategy = "initramfs"
mappings = { "./my-supervisor" = "/init", "./lib" = "/usr/lib/x" }

[init]
none = true
`),
    );
    expect(c.init).toEqual({ mode: 'none' });
    expect(c.agent).toBeUndefined();
    expect(c.mappings.map((m) => m.destination)).toEqual(['/init', '/usr/lib/x']);
  });

  it('empty [init] and none = false mean default mode', () => {
    expect(loadFledgeConfig(write('version = "1"\nstrategy = "initramfs"\n[init]\n')).init).toEqual({
      mode: 'default',
    });
    const c = loadFledgeConfig(write('version = "1"\nstrategy = "initramfs"\n[init]\nnone = false\n'));
    expect(c.init).toEqual({ mode: 'default' });
    expect(c.agent).toEqual({ source_strategy: 'release', version: 'latest' });
  });
});

describe('rejected fledge.toml', () => {
  it('missing file says how to fix', () => {
    const r = checkFledgeConfig(path.join(root, 'nope', 'fledge.toml'));
    expect(r.config).toBeUndefined();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0].line).toBeUndefined();
    expect(r.problems[0].message).toBe(
      'file not found; pass --config <path to fledge.toml>, or create fledge.toml in this folder (see the README for an example)',
    );
  });

  it('shows the file as the user passed it', () => {
    const file = write('version = "2"\nstrategy = "initramfs"\n');
    const rel = path.relative(process.cwd(), file);
    expect(checkFledgeConfig(rel).problems.map(formatProblem)).toEqual([
      `${rel}:1: version: unsupported config version "2"; fledge-pure reads version = "1"`,
    ]);
  });

  it('TOML syntax error: one problem with the parser line', () => {
    expect(problems('version = "1"\nstrategy = \n')).toEqual([
      'F:2: TOML syntax error at column 12: unexpected end of line; fix the TOML syntax on this line (see https://toml.io)',
    ]);
    expect(problems('version = "1"\n[agent]\n[agent]\n')).toEqual([
      "F:3: TOML syntax error at column 1: Cannot redefine existing key 'agent'.; fix the TOML syntax on this line (see https://toml.io)",
    ]);
  });

  it('version and strategy required', () => {
    expect(problems('')).toEqual([
      'F: version: required but missing; add version = "1" at the top of the file',
      'F: strategy: required but missing; add strategy = "oci_rootfs" (image → disk image) or strategy = "initramfs" at the top of the file',
    ]);
  });

  it('version must be a string, strategy must be known (with suggestion)', () => {
    expect(problems('version = 1\nstrategy = "initramf"\n')).toEqual([
      'F:1: version: must be a string, not an integer (1); put the value in double quotes',
      'F:2: strategy: must be one of "oci_rootfs", "initramfs" (got "initramf"); did you mean "initramfs"?',
    ]);
  });

  it('unknown key in a section suggests the nearest key, with its line', () => {
    expect(problems(OCI.replace('compression_level', 'compresion_level'))).toEqual([
      'F:13: filesystem.compresion_level: unknown key in [filesystem]; did you mean compression_level?',
    ]);
  });

  it('unknown section and unknown top-level key', () => {
    expect(problems(OCI.replace('[agent]', '[agnet]') + 'stratgy = "x"\n')).toEqual([
      'F: agent: required but missing; add an [agent] section for strategy = "oci_rootfs", e.g. [agent] source_strategy = "release" version = "latest"',
      'F:4: agnet: unknown section [agnet]; did you mean [agent]?',
      'F:15: filesystem.stratgy: unknown key in [filesystem]; did you mean the top-level key strategy? (then move it above the first [section] header)',
    ]);
    expect(problems('version = "1"\nstrategy = "initramfs"\nwhatever = 1\n')).toEqual([
      'F:3: whatever: unknown key at the top level; valid keys are: version, strategy, agent, source, filesystem, init, mappings',
    ]);
  });

  it('a top-level key written after a [section] header is explained', () => {
    expect(
      problems('version = "1"\nstrategy = "initramfs"\n[init]\nnone = true\nmappings = { "./bin" = "/init" }\n'),
    ).toEqual([
      'F:5: init.mappings: belongs at the top level, but TOML puts every key written after the [init] ' +
        'header into that section; move this line above the first [section] header or write it as a [mappings] table',
    ]);
  });

  it('every value type is checked', () => {
    expect(
      problems(`version = "1"
strategy = "oci_rootfs"
[agent]
source_strategy = "release"
version = 3
[source]
image = "x"
[filesystem]
type = "squashfs"
compression_level = "15"
overlay_size = 1
size_buffer_mb = 1.5
preallocate = "yes"
`),
    ).toEqual([
      'F:5: agent.version: must be a string, not an integer (3); put the value in double quotes',
      'F:10: filesystem.compression_level: must be an integer, not a string ("15"); write a whole number without quotes, e.g. compression_level = 15',
      'F:11: filesystem.overlay_size: must be a string, not an integer (1); put the value in double quotes',
      'F:12: filesystem.size_buffer_mb: must be an integer, not a float (1.5); write a whole number without quotes, e.g. size_buffer_mb = 100',
      'F:13: filesystem.preallocate: must be true or false, not a string ("yes"); write true or false without quotes',
    ]);
    expect(problems('version = "1"\nstrategy = "initramfs"\nagent = "release"\nsource = 1\n')).toEqual([
      'F:3: agent: must be a table, not a string ("release"); write it as [agent] with source_strategy = "release" and version = "latest"',
      'F:4: source: must be a table, not an integer (1); write it as [source] with image = "nginx:alpine"',
    ]);
  });

  it('filesystem ranges and values', () => {
    expect(
      problems(
        OCI.replace('type = "squashfs"', 'type = "ext3"')
          .replace('compression_level = 15', 'compression_level = 23')
          .replace('"1G"', '"1 GB"') + 'size_buffer_mb = -1\n',
      ),
    ).toEqual([
      'F:12: filesystem.type: must be one of "squashfs", "ext4", "xfs", "btrfs" (got "ext3"); did you mean "ext4"?',
      'F:13: filesystem.compression_level: must be between 1 and 22 (got 23); e.g. compression_level = 15',
      'F:14: filesystem.overlay_size: must be a size: digits with an optional K, M, G or T suffix (got "1 GB"); e.g. overlay_size = "1G"',
      'F:15: filesystem.size_buffer_mb: must be between 0 and 1048576 (got -1); e.g. size_buffer_mb = 100',
    ]);
    expect(problems(OCI.replace('compression_level = 15', 'compression_level = 0'))).toEqual([
      'F:13: filesystem.compression_level: must be between 1 and 22 (got 0); e.g. compression_level = 15',
    ]);
  });

  it('disk_format: raw (default) or qcow2; qcow2_compression a boolean (default true)', () => {
    const q = loadFledgeConfig(write(OCI + 'disk_format = "qcow2"\nqcow2_compression = false\n')).filesystem!;
    expect([q.disk_format, q.qcow2_compression]).toEqual(['qcow2', false]);
    expect(loadFledgeConfig(write(OCI + 'disk_format = "qcow2"\n')).filesystem?.qcow2_compression).toBe(true);
    expect(problems(OCI + 'disk_format = "qcow"\nqcow2_compression = "yes"\n')).toEqual([
      'F:15: filesystem.disk_format: must be one of "raw", "qcow2" (got "qcow"); did you mean "qcow2"?',
      'F:16: filesystem.qcow2_compression: must be true or false, not a string ("yes"); write true or false without quotes',
    ]);
  });

  it('block_size: a power of two from 4 KiB to 1 MiB', () => {
    expect(loadFledgeConfig(write(OCI + 'block_size = 1048576\n')).filesystem?.block_size).toBe(1048576);
    expect(loadFledgeConfig(write(OCI + 'block_size = 4096\n')).filesystem?.block_size).toBe(4096);
    expect(problems(OCI + 'block_size = 100000\n')).toEqual([
      'F:15: filesystem.block_size: must be a power of two (got 100000); e.g. block_size = 131072 (128 KiB) or 1048576 (1 MiB)',
    ]);
    expect(problems(OCI + 'block_size = 2048\n')).toEqual([
      'F:15: filesystem.block_size: must be between 4096 and 1048576 (got 2048); e.g. block_size = 131072',
    ]);
    expect(problems(OCI + 'block_size = 2097152\n')).toEqual([
      'F:15: filesystem.block_size: must be between 4096 and 1048576 (got 2097152); e.g. block_size = 131072',
    ]);
  });

  it('compression: zstd (default), gzip, whose levels are 1 to 9 (default 9), or lz4 (no levels)', () => {
    const gzip = OCI.replace('compression_level = 15\n', '') + 'compression = "gzip"\n';
    expect(loadFledgeConfig(write(gzip)).filesystem).toMatchObject({ compression: 'gzip', compression_level: 9 });
    expect(loadFledgeConfig(write(OCI)).filesystem).toMatchObject({ compression: 'zstd', compression_level: 15 });
    expect(problems(OCI + 'compression = "gzip"\n')).toEqual([
      'F:13: filesystem.compression_level: gzip levels are 1 to 9 (got 15); e.g. compression_level = 9, or compression = "zstd" for levels up to 22',
    ]);
    const lz4 = OCI.replace('compression_level = 15\n', '') + 'compression = "lz4"\n';
    expect(loadFledgeConfig(write(lz4)).filesystem).toMatchObject({ compression: 'lz4', compression_level: 1 });
    expect(problems(OCI + 'compression = "lz4"\n')).toEqual([
      'F:13: filesystem.compression_level: lz4 has no levels in squashfs; remove compression_level, or use compression = "zstd" or "gzip"',
    ]);
    expect(problems(OCI + 'compression = "xz"\n')).toEqual([
      'F:15: filesystem.compression: must be one of "zstd", "gzip", "lz4" (got "xz"); e.g. compression = "zstd"',
    ]);
  });

  it('oci_rootfs needs [agent], [filesystem] and an image', () => {
    expect(problems('version = "1"\nstrategy = "oci_rootfs"\n[source]\n')).toEqual([
      'F: agent: required but missing; add an [agent] section for strategy = "oci_rootfs", e.g. [agent] source_strategy = "release" version = "latest"',
      'F: filesystem: required but missing; add a [filesystem] section for strategy = "oci_rootfs", e.g. [filesystem] type = "squashfs"',
      'F:3: source: required but missing; add source.image = "nginx:alpine" or source.dockerfile = ' +
        '"./Dockerfile" under [source] (oci_rootfs needs an image), or pass --docker-archive image.tar',
    ]);
  });

  it('image and dockerfile are exclusive; context/target/build_args need dockerfile; busybox is initramfs-only', () => {
    expect(problems(OCI.replace('image = "nginx:alpine"', 'image = "nginx"\ndockerfile = "./Dockerfile"'))).toEqual([
      'F:10: source.dockerfile: cannot be combined with source.image; keep one: image = "<reference>" to ' +
        'pull an image, or dockerfile = "./Dockerfile" to build one',
    ]);
    expect(
      problems(
        OCI.replace(
          'image = "nginx:alpine"',
          'image = "nginx"\ncontext = "."\ntarget = "x"\nbuild_args = { A = 1 }\nbusybox_url = "https://x/bb"\nbusybox_sha256 = "abc"',
        ),
      ),
    ).toEqual([
      'F:10: source.context: is only used with source.dockerfile; add dockerfile = "./Dockerfile" or remove this key',
      'F:11: source.target: is only used with source.dockerfile; add dockerfile = "./Dockerfile" or remove this key',
      'F:12: source.build_args.A: must be a string, not an integer (1); put the value in double quotes, e.g. build_args = { VERSION = "1.2" }',
      'F:12: source.build_args: is only used with source.dockerfile; add dockerfile = "./Dockerfile" or remove this key',
      'F:13: source.busybox_url: is only used with strategy = "initramfs"; remove it (an oci_rootfs image brings its own userland)',
      'F:14: source.busybox_sha256: is only used with strategy = "initramfs"; remove it (an oci_rootfs image brings its own userland)',
      'F:14: source.busybox_sha256: must be a sha256 digest: 64 hex digits, optionally prefixed with "sha256:" (got "abc"); compute it with sha256sum',
    ]);
  });

  it('busybox_url must be http(s)://, file:/// or a path', () => {
    expect(problems('version = "1"\nstrategy = "initramfs"\n[source]\nbusybox_url = "ftp://x/busybox"\n')).toEqual([
      'F:4: source.busybox_url: must be an http(s):// URL, a file:/// URL or a local path (got "ftp://x/busybox")',
    ]);
  });

  it('agent strategies need their key and reject the others', () => {
    const base = 'version = "1"\nstrategy = "initramfs"\n[agent]\n';
    expect(problems(base + 'source_strategy = "release"\n')).toEqual([
      'F:3: agent.version: required but missing; add version = "latest" (or a release tag such as "v0.6.5") under [agent]',
    ]);
    expect(problems(base + 'source_strategy = "local"\nversion = "latest"\n')).toEqual([
      'F:3: agent.path: required but missing; add path = "./kestrel" (the agent binary, relative to this file) under [agent]',
      'F:5: agent.version: is only used with source_strategy = "release" (this one is "local"); remove it',
    ]);
    expect(problems(base + 'source_strategy = "http"\nurl = "file:///k"\nchecksum = "sha256:123"\n')).toEqual([
      'F:5: agent.url: must be an http:// or https:// URL (got "file:///k")',
      'F:6: agent.checksum: must be a sha256 digest: 64 hex digits, optionally prefixed with "sha256:" (got "sha256:123"); compute it with sha256sum',
    ]);
    expect(problems(base + 'source_strategy = "http"\n')).toEqual([
      'F:3: agent.url: required but missing; add url = "https://.../kestrel" under [agent]',
    ]);
    expect(problems(base + 'source_strategy = "relase"\n')).toEqual([
      'F:4: agent.source_strategy: must be one of "release", "local", "http" (got "relase"); did you mean "release"?',
    ]);
    expect(problems(base + 'version = "latest"\n')).toEqual([
      'F:3: agent.source_strategy: required but missing; add source_strategy = "release" (or "local" / "http") under [agent]',
    ]);
  });

  it('init rules: path+none exclusive, agent forbidden in custom/none, [init] initramfs-only', () => {
    const agent = '[agent]\nsource_strategy = "release"\nversion = "latest"\n';
    expect(problems('version = "1"\nstrategy = "initramfs"\n[init]\npath = "./i"\nnone = true\n')).toEqual([
      'F:5: init.none: cannot be combined with init.path; keep path = "..." (that file becomes /init) or none = true (you map /init yourself), not both',
    ]);
    expect(problems('version = "1"\nstrategy = "initramfs"\n[init]\npath = "./i"\n' + agent)).toEqual([
      'F:5: agent: is not allowed when [init] path is set (custom init): the kestrel agent is not ' +
        'installed then; remove the [agent] section, or remove [init] to use the default init with kestrel',
    ]);
    expect(problems('version = "1"\nstrategy = "initramfs"\n' + agent + '[init]\nnone = true\n')).toEqual([
      'F:3: agent: is not allowed when [init] none = true: the kestrel agent is not installed then; ' +
        'remove the [agent] section, or remove [init] to use the default init with kestrel',
    ]);
    expect(problems(OCI + '[init]\nnone = true\n')).toEqual([
      'F:15: init: is only used with strategy = "initramfs"; remove the [init] section (an oci_rootfs image keeps its own init)',
    ]);
    expect(problems('version = "1"\nstrategy = "initramfs"\n[init]\nnone = "yes"\npth = "x"\n')).toEqual([
      'F:4: init.none: must be true or false, not a string ("yes"); write true or false without quotes',
      'F:5: init.pth: unknown key in [init]; did you mean path?',
    ]);
  });

  it('[filesystem] is an error for initramfs', () => {
    expect(problems('version = "1"\nstrategy = "initramfs"\n\n[filesystem]\ntype = "ext4"\n')).toEqual([
      'F:4: filesystem: is only used with strategy = "oci_rootfs"; remove the [filesystem] section (an initramfs is always a gzip-compressed cpio archive)',
    ]);
  });

  it('mapping destinations: absolute, no "..", strings only', () => {
    expect(
      problems(`version = "1"
strategy = "initramfs"
[mappings]
"./a" = "usr/bin/a"
"./b" = "/usr/../etc/b"
"./c" = 5
app.conf = "/etc/app.conf"
"./ok" = "/opt/..x/ok"
`),
    ).toEqual([
      'F:4: mappings."./a": destination "usr/bin/a" must be an absolute path inside the image (start it with /)',
      'F:5: mappings."./b": destination "/usr/../etc/b" must not contain a ".." component; write the plain absolute path',
      'F:6: mappings."./c": must be a string destination path, not a number; e.g. "./myapp" = "/usr/bin/myapp"',
      'F:7: mappings.app: must be a string destination path, not a table; a source path with dots must be quoted: "./app.conf" = "/etc/app.conf"',
    ]);
  });

  it('inline mapping problems point at the mappings line', () => {
    expect(problems('version = "1"\nstrategy = "initramfs"\n\nmappings = { "./a" = "rel" }\n')).toEqual([
      'F:4: mappings."./a": destination "rel" must be an absolute path inside the image (start it with /)',
    ]);
  });

  it('reports every problem together, in line order, and load throws ConfigError with exit code 2', () => {
    const file = write(`version = "1"
strategy = "oci_rootfs"
[agent]
source_strategy = "release"
[source]
image = "nginx"
imag = "x"
[filesystem]
type = "zfs"
[mappings]
"./x" = "x"
`);
    const expected = [
      'F:3: agent.version: required but missing; add version = "latest" (or a release tag such as "v0.6.5") under [agent]',
      'F:7: source.imag: unknown key in [source]; did you mean image?',
      'F:9: filesystem.type: must be one of "squashfs", "ext4", "xfs", "btrfs" (got "zfs"); did you mean "xfs"?',
      'F:11: mappings."./x": destination "x" must be an absolute path inside the image (start it with /)',
    ];
    expect(checkFledgeConfig(file).problems.map((p) => formatProblem(p).replace(file, 'F'))).toEqual(expected);
    let err: unknown;
    try {
      loadFledgeConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.exitCode).toBe(2);
    expect(ce.problems).toHaveLength(4);
    expect(ce.problems[0]).toEqual({
      file,
      line: 3,
      key: 'agent.version',
      message: expected[0].replace(/^F:3: agent.version: /, ''),
    });
    expect(ce.message).toBe(expected.map((l) => l.replace('F', file)).join('\n'));
  });

  it('line lookup skips multi-line strings and follows multi-line inline tables', () => {
    expect(
      problems(`version = "1"
strategy = "initramfs"
desc = """
[agent]
x = 1
"""
mappings = {
  "./a" = "/ok",
  "./b" = "rel",
}
`),
    ).toEqual([
      'F:3: desc: unknown key at the top level; valid keys are: version, strategy, agent, source, filesystem, init, mappings',
      'F:9: mappings."./b": destination "rel" must be an absolute path inside the image (start it with /)',
    ]);
  });

  it('line lookup handles dotted keys, quoted keys and comments', () => {
    expect(
      problems(`# comment
version = "1"
strategy = "oci_rootfs"
agent.source_strategy = "release"
agent.version = 7
source = { image = "x" }
[filesystem]
"type" = "nope"
`),
    ).toEqual([
      'F:5: agent.version: must be a string, not an integer (7); put the value in double quotes',
      'F:8: filesystem.type: must be one of "squashfs", "ext4", "xfs", "btrfs" (got "nope"); e.g. type = "squashfs"',
    ]);
  });
});
