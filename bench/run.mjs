#!/usr/bin/env node
// `npm run bench`: fledge-pure against the native tool chains on one Debian image
// (bench/image.mjs), rounds alternating fledge-pure / peer. Per run: wall time (the
// bench's clock around each command), peak RSS (/usr/bin/time %M of every command, each
// pipeline stage on its own; the max is reported), artifact size. A case whose
// fledge-pure side fails (a writer not written yet) is reported "not available"; its
// peers still run. Not a test: vitest only collects test/**/*.test.ts.
//
//   npm run bench -- [--rounds N] [--json] [--only ext4,squashfs,cpio,qcow2] [--cache DIR] [--mirror URL]
//   (--only takes case name prefixes: "squashfs" runs every squashfs case, "squashfs lz4" the two
//   lz4 ones (the image, and "squashfs lz4 (flattened input)": the flat tar tar2sqfs reads),
//   "cold" the cold ext4 build from a local registry, "squashfs zstd-15 warm" and "cpio.gz warm"
//   a rebuild with the compressed-output cache after one file changed)
//   npm run bench -- --scale      the 200 000-file + 5 GB sparse case instead (bench/scale.mjs)
//   npm run bench -- --curve      the cost curve instead: 10 k, 100 k, 1 M entries + 20 GiB sparse,
//                                 time and peak RSS per entry (bench/curve-run.mjs)
//   npm run bench -- --dockerfile a COPY-only Dockerfile build against buildah bud, and a RUN
//                                 step's time split (bench/dockerfile-run.mjs)
// Every case also measures the limit (read the cached layer tars once, write a file as
// large as fledge-pure's artifact) in the same rounds; every tool's time is printed
// against it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, homedir, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { changedImage } from './changed-image.mjs';
import { flatLayout } from './flat-layout.mjs';
import { debianMirror, IMAGE_VERSION, prepareImage } from './image.mjs';
import { push, startRegistry } from './registry.mjs';
import { xfsProto } from './xfs-proto.mjs';

/** The warm-rebuild cases (they need the image with one file changed). */
const WARM = ['squashfs zstd-15 warm, one file changed', 'cpio.gz warm, one file changed'];
/** The lz4 case over the flattened tree (it needs the one-layer layout of the flat tar). */
const FLAT_CASE = 'squashfs lz4 (flattened input)';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli.js');
const MiB = 1 << 20;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    scale: { type: 'boolean', default: false },
    curve: { type: 'boolean', default: false },
    dockerfile: { type: 'boolean', default: false },
    only: { type: 'string' },
    cache: { type: 'string' },
    mirror: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .slice(0, 17)
      .map((l) => l.slice(3))
      .join('\n') + '\n',
  );
  process.exit(0);
}
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) die(`--rounds ${args.rounds}: give a whole number ≥ 1`);
const CACHE = resolve(
  args.cache ??
    process.env.FLEDGE_PURE_BENCH_CACHE ??
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fledge-pure-bench'),
);
// fledge-pure's own cache (blobs/, layers/) lives inside the bench cache: warm, and apart from the user's
const FP_ENV = { ...process.env, XDG_CACHE_HOME: join(CACHE, 'xdg') };

function die(msg, code = 2) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(code);
}
const log = (line) => process.stderr.write(`bench: ${line}\n`);
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

// ---- tools ------------------------------------------------------------------------------

const TOOLS = [
  ['/usr/bin/time', 'time'],
  ['umoci', 'umoci'],
  ['mke2fs', 'e2fsprogs'],
  ['e2fsck', 'e2fsprogs'],
  ['mkfs.xfs', 'xfsprogs'],
  ['xfs_repair', 'xfsprogs'],
  ['mkfs.btrfs', 'btrfs-progs'],
  ['btrfs', 'btrfs-progs'],
  ['mksquashfs', 'squashfs-tools'],
  ['unsquashfs', 'squashfs-tools'],
  ['tar2sqfs', 'squashfs-tools-ng'],
  ['cpio', 'cpio'],
  ['gzip', 'gzip'],
  ['pigz', 'pigz'],
  ['tar', 'tar'],
  ['setfattr', 'attr'],
  ['skopeo', 'skopeo'],
  ['docker-registry', 'docker-registry'],
  ['qemu-img', 'qemu-utils'],
];
const have = (tool) =>
  spawnSync('sh', ['-c', `command -v ${q(tool)} || test -x ${q(tool)}`], {
    stdio: 'ignore',
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  }).status === 0;

function checkTools(needDebootstrap) {
  const need = needDebootstrap ? [...TOOLS, ['debootstrap', 'debootstrap']] : TOOLS;
  const missing = [...new Set(need.filter(([t]) => !have(t)).map(([, p]) => p))];
  if (missing.length) die(`missing tools: apt-get install ${missing.join(' ')}`);
  if (!existsSync(CLI)) die(`${CLI} is missing: run npm run build first`);
}
process.env.PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

// ---- timing -----------------------------------------------------------------------------

let work;
let timeFiles = 0;
const timeFile = () => join(work, `time.${timeFiles++}`);
const readRss = (f) => Number(readFileSync(f, 'utf8').trim().split('\n').pop().trim().split(/\s+/).pop());

/** One command under /usr/bin/time: { wall s, rssKB, stdout }; throws with its stderr on failure. */
function timed(argv, { cwd, env, stdout } = {}) {
  const tf = timeFile();
  const out = stdout ? openSync(stdout, 'w') : 'pipe';
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', tf, ...argv], {
    cwd,
    env,
    stdio: ['ignore', out, 'pipe'],
    maxBuffer: 1 << 26,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (stdout) closeSync(out);
  if (r.status !== 0)
    throw new Error(
      `${argv.join(' ')}: ${(r.stderr?.toString() || `exit ${r.status}`).trim().split('\n').slice(-3).join(' / ')}`,
    );
  return { wall, rssKB: readRss(tf), stdout: r.stdout?.toString() ?? '' };
}

/** A shell pipeline, each stage under its own /usr/bin/time: { wall, rssKB = max of the stages }. */
function timedPipeline(stages, { cwd, stdin, stdout }) {
  const files = stages.map(() => timeFile());
  const line = stages.map((argv, i) => `/usr/bin/time -f %M -o ${q(files[i])} ${argv.map(q).join(' ')}`).join(' | ');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${line}${stdin ? ` < ${q(stdin)}` : ''} > ${q(stdout)}`], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(
      `${stages.map((s) => s.join(' ')).join(' | ')}: ${r.stderr.toString().trim().split('\n').slice(-3).join(' / ')}`,
    );
  return { wall, rssKB: Math.max(...files.map(readRss)) };
}

/** Steps run in order: total wall, max RSS, the artifact's size. */
function run(steps, artifact) {
  let wall = 0;
  let rssKB = 0;
  const stepWalls = [];
  for (const step of steps) {
    const r = step();
    wall += r.wall;
    rssKB = Math.max(rssKB, r.rssKB);
    stepWalls.push(Math.round(r.wall * 1000) / 1000);
  }
  const st = statSync(artifact);
  return { wall, rssKB, bytes: st.size, allocatedBytes: st.blocks * 512, stepWalls };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- machine ----------------------------------------------------------------------------

function machine() {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const version = (argv) =>
    spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' }).stdout?.split('\n')[0].trim() ?? '?';
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? '?',
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    tools: {
      umoci: version(['umoci', '--version']),
      mke2fs: spawnSync('mke2fs', ['-V'], { encoding: 'utf8' }).stderr.split('\n')[0].trim(),
      'mkfs.xfs': version(['mkfs.xfs', '-V']),
      'mkfs.btrfs': version(['mkfs.btrfs', '--version']),
      mksquashfs: version(['mksquashfs', '-version']),
      tar2sqfs: version(['tar2sqfs', '--version']),
      cpio: version(['cpio', '--version']),
      'qemu-img': version(['qemu-img', '--version']),
    },
  };
}

// ---- the fledge-pure side ---------------------------------------------------------------

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

function writeConfigs(imageRef, coldRef, changedRef, flatRef) {
  const busybox = join(ROOT, 'examples/hello/busybox');
  const agent = join(ROOT, 'examples/hello/kestrel');
  const configs = {
    ext4:
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n\n[filesystem]\ntype = "ext4"\n`,
    xfs:
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n\n[filesystem]\ntype = "xfs"\n`,
    btrfs:
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n\n[filesystem]\ntype = "btrfs"\n`,
    squashfs:
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n\n[filesystem]\ntype = "squashfs"\ncompression_level = 15\n`,
    'squashfs-lz4':
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n\n[filesystem]\ntype = "squashfs"\ncompression = "lz4"\n`,
    'cold-ext4':
      `version = "1"\nstrategy = "oci_rootfs"\n\n[agent]\nsource_strategy = "local"\n` +
      `path = ${JSON.stringify(agent)}\n\n[source]\nimage = ${JSON.stringify(`docker://${coldRef}`)}\n\n[filesystem]\ntype = "ext4"\n`,
    cpio:
      `version = "1"\nstrategy = "initramfs"\n\n[source]\nimage = ${JSON.stringify(imageRef)}\n` +
      `busybox_url = ${JSON.stringify(busybox)}\nbusybox_sha256 = "${sha256(busybox)}"\n\n[init]\n` +
      `none = true\n\n[mappings]\n${JSON.stringify(agent)} = "/init"\n`,
  };
  // the warm cases: the same configs over the image with one file changed
  // the flattened-input case: the lz4 config over the one-layer layout of the flat tar
  if (flatRef) configs['squashfs-lz4-flat'] = configs['squashfs-lz4'].replace(imageRef, flatRef);
  if (changedRef)
    for (const name of ['squashfs', 'cpio']) configs[`${name}-changed`] = configs[name].replace(imageRef, changedRef);
  const paths = {};
  for (const [name, text] of Object.entries(configs)) {
    mkdirSync(join(work, `fp-${name}`));
    writeFileSync((paths[name] = join(work, `fp-${name}`, 'fledge.toml')), text);
  }
  return paths;
}

/**
 * A build; without the compressed-output cache (src/compressed-cache.ts) unless
 * `compressedCache`: every case but the warm ones compresses everything, as a first build does.
 */
function fledgePure(config, out, env = FP_ENV, compressedCache = false) {
  const args = ['node', CLI, 'build', '-q', '-c', config, '-o', out];
  return () => timed(compressedCache ? args : [...args, '--compressed-cache-size', '0'], { env, cwd: work });
}

/** fledge-pure's steps for a case: its own step, or the build (a cold case first empties its own cache, untimed). */
const fpSteps = (fp) =>
  fp.step ? [fp.step] : [...(fp.pre ? [fp.pre] : []), fledgePure(fp.config, fp.out, fp.env, fp.compressedCache)];

/** size and mtime of every file in fledge-pure's cache, to show a warm build adds nothing. */
function cacheSnapshot() {
  const snap = new Map();
  const visit = (d) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else {
        const st = statSync(p);
        snap.set(p, `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  visit(join(CACHE, 'xdg/fledge-pure'));
  return snap;
}

function cacheDelta(before, after) {
  let added = 0;
  let changed = 0;
  for (const [p, v] of after) {
    if (!before.has(p)) added += Number(v.split(':')[0]);
    else if (before.get(p) !== v) changed++;
  }
  const layers = [...after.keys()].filter((p) => p.includes('/layers/sha256/')).length;
  return { addedBytes: added, changedFiles: changed, layerFiles: layers };
}

// ---- the peers --------------------------------------------------------------------------

function umociUnpack(layout, tag, bundle) {
  return () => {
    rmSync(bundle, { recursive: true, force: true });
    return timed(['umoci', 'unpack', '--rootless', '--image', `${layout}:${tag}`, bundle]);
  };
}

function peerExt4(layout, tag, bundle, img) {
  const size = {};
  return [
    umociUnpack(layout, tag, bundle),
    () => {
      const r = timed(['du', '-s', '--block-size=1', join(bundle, 'rootfs')]);
      // like Fledge: what the tree takes, plus 25 %
      size.mib = Math.ceil((Number(r.stdout.split(/\s/)[0]) * 1.25) / MiB);
      return r;
    },
    () => {
      rmSync(img, { force: true });
      return timed(['mke2fs', '-q', '-t', 'ext4', '-d', join(bundle, 'rootfs'), img, `${size.mib}M`]);
    },
  ];
}

/** umoci unpack, a protofile of the rootfs, mkfs.xfs -p into du + 25 % (mkfs.xfs's minimum is 300 MiB). */
function peerXfs(layout, tag, bundle, img) {
  const proto = join(work, 'xfs.proto');
  const size = {};
  return [
    umociUnpack(layout, tag, bundle),
    () => {
      const r = timed(['du', '-s', '--block-size=1', join(bundle, 'rootfs')]);
      size.mib = Math.max(300, Math.ceil((Number(r.stdout.split(/\s/)[0]) * 1.25) / MiB));
      const t0 = process.hrtime.bigint();
      writeFileSync(proto, xfsProto(join(bundle, 'rootfs')).text);
      return { wall: r.wall + Number(process.hrtime.bigint() - t0) / 1e9, rssKB: r.rssKB };
    },
    () => {
      rmSync(img, { force: true });
      timed(['truncate', '-s', `${size.mib}M`, img]);
      return timed(['mkfs.xfs', '-q', '-f', '-p', proto, img]);
    },
  ];
}

/** umoci unpack, then mkfs.btrfs --rootdir into du + 25 % (at least 256 MiB, above mkfs.btrfs's minimum). */
function peerBtrfs(layout, tag, bundle, img) {
  const size = {};
  return [
    umociUnpack(layout, tag, bundle),
    () => {
      const r = timed(['du', '-s', '--block-size=1', join(bundle, 'rootfs')]);
      size.mib = Math.max(256, Math.ceil((Number(r.stdout.split(/\s/)[0]) * 1.25) / MiB));
      return r;
    },
    () => {
      rmSync(img, { force: true });
      timed(['truncate', '-s', `${size.mib}M`, img]);
      return timed(['mkfs.btrfs', '-q', '-f', '--rootdir', join(bundle, 'rootfs'), img]);
    },
  ];
}

/**
 * A warm rebuild: the compressed-output cache as a build of the bench image leaves it (a
 * copy restored before every run, untimed), then a build of the image with one file
 * changed in its top layer (bench/changed-image.mjs). Its peer: the same build without
 * the cache, in the same rounds; its check: the same bytes as that cold build. It runs
 * on a cache folder of its own in the bench's work folder (the bench cache's layer tars
 * hard-linked into it), so that benches run side by side do not share its compressed/.
 */
function warmCase(name, configs, key, ext, check, target) {
  const xdg = join(work, `xdg-${key}`);
  const env = { ...process.env, XDG_CACHE_HOME: xdg };
  const compressed = join(xdg, 'fledge-pure/compressed');
  const snapshot = join(work, `compressed-${key}`);
  const out = (n) => join(work, `${n}-${key}.${ext}`);
  const cold = {};
  const restore = () => {
    rmSync(compressed, { recursive: true, force: true });
    timed(['cp', '-a', snapshot, compressed]);
    return { wall: 0, rssKB: 0 };
  };
  return {
    name,
    warm: true,
    target,
    prepare: () => {
      mkdirSync(join(xdg, 'fledge-pure'), { recursive: true });
      timed(['cp', '-al', join(CACHE, 'xdg/fledge-pure/layers'), join(xdg, 'fledge-pure/layers')]);
      fledgePure(configs[key], out('original'), env, true)();
      timed(['cp', '-a', compressed, snapshot]);
      fledgePure(configs[`${key}-changed`], out('cold'), env)();
      cold.sha256 = sha256(out('cold'));
      rmSync(out('original'));
      rmSync(out('cold'));
    },
    fp: {
      config: configs[`${key}-changed`],
      out: out('warm'),
      env,
      compressedCache: true,
      pre: restore,
      check: (f) => {
        if (sha256(f) !== cold.sha256) throw new Error(`${f}: not the bytes of a cold build (${cold.sha256})`);
        return check(f);
      },
      checkName: `the cold build's bytes, ${check.name}`,
    },
    peers: [
      {
        tool: 'fledge-pure, cold (no compressed cache)',
        out: out('peer'),
        steps: [fledgePure(configs[`${key}-changed`], out('peer'), env)],
      },
    ],
  };
}

const unsquashfsCheck = (f) => timed(['unsquashfs', '-lln', f]);
Object.defineProperty(unsquashfsCheck, 'name', { value: 'unsquashfs -lln' });
const gzipCheck = (f) => timed(['gzip', '-t', f]);
Object.defineProperty(gzipCheck, 'name', { value: 'gzip -t' });

const cleanup =
  (...paths) =>
  () => {
    for (const p of paths) rmSync(p, { recursive: true, force: true });
    return { wall: 0, rssKB: 0 };
  };

// ---- the limit ----------------------------------------------------------------------------

// What no builder can beat: read the cached layer tars once and write a file as large as
// fledge-pure's artifact (its allocated bytes), fsynced as fledge-pure fsyncs its output.
const LIMIT_SCRIPT = `out=$1; size=$2; shift 2
cat "$@" | { head -c "$size" > "$out"; cat > /dev/null; }
have=$(stat -c %s "$out")
if [ "$have" -lt "$size" ]; then head -c $((size - have)) /dev/zero >> "$out"; fi
sync "$out"`;

function limitTool(layerTars, out, what = 'layer tars') {
  return {
    tool: `limit: cat ${what} > artifact-sized file`,
    out,
    /** the steps, once fledge-pure's artifact size is known */
    steps: (bytes) => [() => timed(['bash', '-c', LIMIT_SCRIPT, 'limit', out, String(bytes), ...layerTars])],
  };
}

// ---- cases ------------------------------------------------------------------------------

/**
 * The cold case: every run starts from an empty cache and pulls the image from the local
 * registry (fledge-pure: pull, verify, decompress, write; the peer: skopeo copy to an
 * OCI layout, then its usual pipeline).
 */
function coldExt4(coldRef, tag, configs) {
  const [b, pulled, cache] = ['bundle', 'pulled', 'cold-xdg'].map((n) => join(work, n));
  const img = join(work, 'peer-cold.img');
  return {
    name: 'cold ext4',
    cold: true,
    fp: {
      config: configs['cold-ext4'],
      out: join(work, 'fp-cold.img'),
      env: { ...process.env, XDG_CACHE_HOME: cache },
      pre: cleanup(cache),
      check: (f) => timed(['e2fsck', '-fn', f]),
      checkName: 'e2fsck -fn',
    },
    peers: [
      {
        tool: 'skopeo copy + umoci unpack + mke2fs -d',
        out: img,
        steps: [
          cleanup(pulled),
          () =>
            timed([
              'skopeo',
              '--insecure-policy',
              'copy',
              '--quiet',
              '--src-tls-verify=false',
              `docker://${coldRef}`,
              `oci:${pulled}:${tag}`,
            ]),
          ...peerExt4(pulled, tag, b, img),
        ],
      },
    ],
  };
}

/**
 * squashfs lz4 from the same flattened tree tar2sqfs reads (issue 16: "≤ 2× tar2sqfs -c lz4
 * on the flattened tree"): fledge-pure builds from a one-layer OCI layout whose layer is the
 * flat tar, uncompressed (bench/flat-layout.mjs); its limit reads that tar.
 */
function flatLz4(configs, flatTar) {
  const out = (n) => join(work, n);
  return {
    name: FLAT_CASE,
    target: 2.0,
    fp: {
      config: configs['squashfs-lz4-flat'],
      out: out('fp-lz4-flat.squashfs'),
      check: (f) => timed(['unsquashfs', '-lln', f]),
      checkName: 'unsquashfs -lln',
    },
    peers: [
      {
        tool: 'tar2sqfs -j 2 -c lz4 (the same flat tar)',
        out: out('peer-lz4-flat.squashfs'),
        steps: [
          () =>
            timedPipeline([['tar2sqfs', '-f', '-q', '-j', '2', '-c', 'lz4', out('peer-lz4-flat.squashfs')]], {
              stdin: flatTar,
              stdout: '/dev/null',
            }),
        ],
      },
    ],
    limit: limitTool([flatTar], out('limit.out'), 'the flat tar'),
  };
}

function defineCases(layout, tag, flatTar, layerTars, coldRef, changed, flat) {
  const b = join(work, 'bundle');
  const out = (n) => join(work, n);
  const configs = writeConfigs(
    `oci:${layout}:${tag}`,
    coldRef,
    changed && `oci:${changed.layout}:${changed.tag}`,
    flat && `oci:${flat.layout}:${flat.tag}`,
  );
  const cases = [
    {
      name: 'ext4',
      target: 0.5,
      limitTarget: 1.5,
      fp: {
        config: configs.ext4,
        out: out('fp.img'),
        check: (f) => timed(['e2fsck', '-fn', f]),
        checkName: 'e2fsck -fn',
      },
      peers: [
        { tool: 'umoci unpack + mke2fs -d', steps: peerExt4(layout, tag, b, out('peer.img')), out: out('peer.img') },
      ],
    },
    {
      name: 'xfs',
      target: 0.5,
      fp: {
        config: configs.xfs,
        out: out('fp.xfs'),
        check: (f) => timed(['xfs_repair', '-n', '-f', f]),
        checkName: 'xfs_repair -n',
      },
      peers: [
        {
          tool: 'umoci unpack + mkfs.xfs -p protofile',
          steps: peerXfs(layout, tag, b, out('peer.xfs')),
          out: out('peer.xfs'),
        },
      ],
    },
    {
      name: 'btrfs',
      target: 0.5,
      fp: {
        config: configs.btrfs,
        out: out('fp.btrfs'),
        check: (f) => timed(['btrfs', 'check', '--readonly', f]),
        checkName: 'btrfs check --readonly',
      },
      peers: [
        {
          tool: 'umoci unpack + mkfs.btrfs --rootdir',
          steps: peerBtrfs(layout, tag, b, out('peer.btrfs')),
          out: out('peer.btrfs'),
        },
      ],
    },
    {
      name: 'squashfs zstd-15',
      target: 1.0,
      fp: {
        config: configs.squashfs,
        out: out('fp.squashfs'),
        check: (f) => timed(['unsquashfs', '-lln', f]),
        checkName: 'unsquashfs -lln',
      },
      peers: [
        {
          tool: 'umoci unpack + mksquashfs',
          out: out('peer.squashfs'),
          steps: [
            umociUnpack(layout, tag, b),
            () => (
              rmSync(out('peer.squashfs'), { force: true }),
              timed([
                'mksquashfs',
                join(b, 'rootfs'),
                out('peer.squashfs'),
                '-comp',
                'zstd',
                '-Xcompression-level',
                '15',
                '-noappend',
                '-no-progress',
              ])
            ),
          ],
        },
        {
          tool: 'tar2sqfs -j 2 (flat tar made by export)',
          out: out('peer2.squashfs'),
          steps: [
            () =>
              timedPipeline(
                [['tar2sqfs', '-f', '-q', '-j', '2', '-c', 'zstd', '-X', 'level=15', out('peer2.squashfs')]],
                { stdin: flatTar, stdout: '/dev/null' },
              ),
          ],
        },
      ],
    },
    {
      name: 'squashfs lz4',
      target: 1.0,
      fp: {
        config: configs['squashfs-lz4'],
        out: out('fp-lz4.squashfs'),
        check: (f) => timed(['unsquashfs', '-lln', f]),
        checkName: 'unsquashfs -lln',
      },
      peers: [
        {
          tool: 'umoci unpack + mksquashfs',
          out: out('peer-lz4.squashfs'),
          steps: [
            umociUnpack(layout, tag, b),
            () => (
              rmSync(out('peer-lz4.squashfs'), { force: true }),
              timed([
                'mksquashfs',
                join(b, 'rootfs'),
                out('peer-lz4.squashfs'),
                '-comp',
                'lz4',
                '-noappend',
                '-no-progress',
              ])
            ),
          ],
        },
        {
          tool: 'tar2sqfs -j 2 (flat tar made by export)',
          out: out('peer2-lz4.squashfs'),
          steps: [
            () =>
              timedPipeline([['tar2sqfs', '-f', '-q', '-j', '2', '-c', 'lz4', out('peer2-lz4.squashfs')]], {
                stdin: flatTar,
                stdout: '/dev/null',
              }),
          ],
        },
      ],
    },
    {
      // the same raw ext4 image (fledge-pure's, built once, untimed) into a compressed qcow2
      name: 'qcow2 (compressed)',
      target: 1.0,
      prepare: () => fledgePure(configs.ext4, out('raw.img'))(),
      fp: {
        step: () => timed(['node', join(ROOT, 'bench/qcow2-convert.mjs'), out('raw.img'), out('fp.qcow2')]),
        out: out('fp.qcow2'),
        check: (f) => qcow2Check(f, out('raw.img')),
        checkName: 'qemu-img check + compare',
      },
      peers: [
        {
          tool: 'qemu-img convert -c -O qcow2',
          out: out('peer.qcow2'),
          steps: [
            () => (
              rmSync(out('peer.qcow2'), { force: true }),
              timed(['qemu-img', 'convert', '-c', '-f', 'raw', '-O', 'qcow2', out('raw.img'), out('peer.qcow2')])
            ),
          ],
        },
      ],
    },
    {
      name: 'cpio.gz',
      target: 1.0,
      // the stream fledge-pure compresses, uncompressed (untimed), for pigz alone on the same tree
      prepare: () => {
        fledgePure(configs.cpio, out('stream.cpio.gz'))();
        const r = spawnSync('bash', ['-c', `gzip -dc ${q(out('stream.cpio.gz'))} > ${q(out('stream.cpio'))}`]);
        if (r.status !== 0) throw new Error(`gzip -dc: ${r.stderr}`);
        rmSync(out('stream.cpio.gz'));
      },
      fp: {
        config: configs.cpio,
        out: out('fp.cpio.gz'),
        check: (f) => timed(['gzip', '-t', f]),
        checkName: 'gzip -t',
      },
      peers: [
        {
          tool: 'umoci unpack + cpio + gzip -6',
          out: out('peer.cpio.gz'),
          steps: [
            umociUnpack(layout, tag, b),
            () =>
              timedPipeline(
                [
                  ['find', '.'],
                  ['cpio', '-o', '-H', 'newc', '--quiet'],
                  ['gzip', '-6'],
                ],
                { cwd: join(b, 'rootfs'), stdout: out('peer.cpio.gz') },
              ),
          ],
        },
        {
          tool: 'umoci unpack + cpio + pigz -6',
          out: out('peer-pigz.cpio.gz'),
          steps: [
            umociUnpack(layout, tag, b),
            () =>
              timedPipeline(
                [
                  ['find', '.'],
                  ['cpio', '-o', '-H', 'newc', '--quiet'],
                  ['pigz', '-6'],
                ],
                { cwd: join(b, 'rootfs'), stdout: out('peer-pigz.cpio.gz') },
              ),
          ],
        },
        {
          // issue 16: "≤ 2× pigz -6 on the same tree": pigz compresses the very cpio stream
          // fledge-pure writes (its own output, uncompressed), with no flattening of its own
          tool: "pigz -6 (fledge-pure's cpio stream)",
          target: 2.0,
          out: out('peer-pigz-stream.cpio.gz'),
          steps: [
            () =>
              timedPipeline([['pigz', '-6']], { stdin: out('stream.cpio'), stdout: out('peer-pigz-stream.cpio.gz') }),
          ],
        },
      ],
    },
  ];
  if (flat) cases.push(flatLz4(configs, flatTar));
  if (coldRef) cases.push(coldExt4(coldRef, tag, configs));
  if (changed)
    cases.push(
      warmCase('squashfs zstd-15 warm, one file changed', configs, 'squashfs', 'squashfs', unsquashfsCheck, 0.1),
      warmCase('cpio.gz warm, one file changed', configs, 'cpio', 'cpio.gz', gzipCheck),
    );
  for (const c of cases) c.limit ??= limitTool(layerTars, out('limit.out'));
  return cases;
}

function qcow2Check(qcow2, raw) {
  timed(['qemu-img', 'check', qcow2]);
  return timed(['qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', raw, qcow2]);
}

/** The unmeasured first build: fills the cache, checks the artifact; false when it fails. */
function warmUp(c, fp) {
  log(`${c.name}: fledge-pure warm-up build`);
  try {
    const before = cacheSnapshot();
    const cold = run(fpSteps(c.fp), c.fp.out);
    fp.warmup = { ...cold, cacheAddedBytes: cacheDelta(before, cacheSnapshot()).addedBytes };
    try {
      c.fp.check(c.fp.out);
      fp.check = `${c.fp.checkName} ok`;
    } catch (e) {
      fp.check = `FAILED: ${e.message}`;
      log(`${c.name}: fledge-pure's artifact does not check clean: ${e.message}`);
    }
  } catch (e) {
    fp.available = false;
    fp.reason = e.message.replace(/^.*?fledge-pure: /, '');
    log(`${c.name}: fledge-pure not available: ${fp.reason}`);
  }
  rmSync(c.fp.out, { force: true });
  return fp.available;
}

/** One measured run of a peer or the limit, recorded in `t`. */
function runTool(c, t, steps, out) {
  if (!t.available) return;
  log(`${c.name}: round ${t.runs.length + 1}: ${t.tool}`);
  try {
    t.runs.push(run([...steps], out));
  } catch (e) {
    t.available = false;
    t.reason = e.message;
    log(`${c.name}: ${t.tool} failed: ${e.message}`);
  }
  cleanup(out, join(work, 'bundle'))();
}

function runFledgePure(c, fp, round) {
  if (!fp.available) return;
  log(`${c.name}: round ${round}: fledge-pure`);
  const before = cacheSnapshot();
  try {
    fp.runs.push(run(fpSteps(c.fp), c.fp.out));
    if (round === 1) fp.warmCache = cacheDelta(before, cacheSnapshot());
  } catch (e) {
    fp.available = false;
    fp.reason = `round ${round}: ${e.message.replace(/^.*?fledge-pure: /, '')}`;
    log(`${c.name}: fledge-pure failed: ${fp.reason}`);
  }
  rmSync(c.fp.out, { force: true });
}

function summarize(result) {
  const [fp] = result.tools;
  const limit = result.tools.find((t) => t.limit);
  for (const t of result.tools) {
    if (!t.available || !t.runs.length) continue;
    t.medianWall = median(t.runs.map((r) => r.wall));
    t.peakRssKB = Math.max(...t.runs.map((r) => r.rssKB));
    t.bytes = t.runs.at(-1).bytes;
    t.allocatedBytes = t.runs.at(-1).allocatedBytes;
  }
  for (const t of result.tools) {
    if (t !== fp && !t.limit && fp.medianWall && t.medianWall) t.ratio = fp.medianWall / t.medianWall;
    if (!t.limit && limit?.medianWall && t.medianWall) t.vsLimit = t.medianWall / limit.medianWall;
  }
}

function runCase(c) {
  const result = {
    case: c.name,
    cold: Boolean(c.cold),
    warm: Boolean(c.warm),
    target: c.target,
    limitTarget: c.limitTarget,
    tools: [],
  };
  if (c.prepare) {
    log(`${c.name}: preparing its input`);
    c.prepare();
  }
  const fp = { tool: 'fledge-pure', available: true, runs: [] };
  const peers = c.peers.map((p) => ({ tool: p.tool, target: p.target, available: true, runs: [] }));
  // the limit writes as many bytes as fledge-pure's artifact takes on disk
  const limit = { tool: c.limit.tool, limit: true, available: warmUp(c, fp), runs: [] };
  const limitSteps = limit.available ? c.limit.steps(Math.min(fp.warmup.bytes, fp.warmup.allocatedBytes)) : [];
  result.tools.push(fp, ...peers, limit);
  for (let round = 1; round <= ROUNDS; round++) {
    runFledgePure(c, fp, round);
    for (const [i, p] of c.peers.entries()) runTool(c, peers[i], p.steps, p.out);
    runTool(c, limit, limitSteps, c.limit.out);
  }
  summarize(result);
  return result;
}

// ---- output -----------------------------------------------------------------------------

/** "0.42 (target ≤ 0.5, met)", or the bare ratio when there is no target. */
function ratioCell(ratio, target) {
  if (ratio === undefined) return '';
  if (target === undefined) return ratio.toFixed(2);
  return `${ratio.toFixed(2)} (target ≤ ${target.toFixed(1)}${ratio <= target ? ', met' : ', missed'})`;
}

function table(results) {
  const rows = [['case', 'tool', 'median wall s', 'ratio fp/peer', 'tool/limit', 'peak RSS MiB', 'artifact MiB']];
  for (const r of results) {
    for (const t of r.tools) {
      if (!t.available) {
        rows.push([r.case, t.tool, 'not available', '', '', '', '']);
        continue;
      }
      const vsLimit = ratioCell(t.vsLimit, t === r.tools[0] ? r.limitTarget : undefined);
      const size =
        (t.bytes / MiB).toFixed(1) +
        (t.allocatedBytes < t.bytes * 0.9 ? ` (${(t.allocatedBytes / MiB).toFixed(1)} allocated)` : '');
      rows.push([
        r.case,
        t.tool,
        t.medianWall.toFixed(2),
        ratioCell(t.ratio, t.target ?? r.target),
        vsLimit,
        (t.peakRssKB / 1024).toFixed(0),
        size,
      ]);
    }
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(rows[0]), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

function notes(results) {
  const out = [];
  for (const r of results) {
    const fp = r.tools[0];
    if (!fp.available) out.push(`${r.case}: fledge-pure not available: ${fp.reason}`);
    else if (r.warm)
      out.push(
        `${r.case}: every fledge-pure run starts from the compressed cache a build of the unchanged ` +
          `image left (restored untimed); the peer is the same build with --compressed-cache-size 0; ` +
          `artifact check: ${fp.check}`,
      );
    else if (r.cold)
      out.push(
        `${r.case}: every run (fledge-pure's and the peer's) starts from an empty cache and pulls the ` +
          `image from a local docker-registry; artifact check: ${fp.check}`,
      );
    else {
      const first = fp.warmup.cacheAddedBytes
        ? `cold build (filled the cache with ${(fp.warmup.cacheAddedBytes / MiB).toFixed(0)} MiB)`
        : 'warm-up build (the cache was already warm)';
      out.push(
        `${r.case}: fledge-pure ${first} ${fp.warmup.wall.toFixed(2)} s, not counted; first measured ` +
          `build added ${fp.warmCache.addedBytes} bytes to the cache, rewrote ` +
          `${fp.warmCache.changedFiles} cache files (${fp.warmCache.layerFiles} layer tars reused); artifact check: ${fp.check}`,
      );
    }
    for (const t of r.tools.slice(1))
      if (!t.available && t.reason) out.push(`${r.case}: ${t.tool} failed: ${t.reason}`);
  }
  return out.join('\n');
}

function describeMachine(m) {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}\ntools: ${Object.entries(
    m.tools,
  )
    .map(([k, v]) => `${k} ${/(\d+\.\d[\w.+~:-]*)/.exec(v)?.[1] ?? v}`)
    .join(', ')}`;
}

// ---- main -------------------------------------------------------------------------------

async function main() {
  if (args.dockerfile) {
    const { runDockerfile } = await import('./dockerfile-run.mjs');
    await runDockerfile({
      json: args.json,
      log,
      machine: machine(),
      describeMachine,
      timed,
      setWork: (w) => (work = w),
      rounds: ROUNDS,
      env: FP_ENV,
    });
    return;
  }
  if (args.scale || args.curve) {
    checkTools(false);
    const run = args.curve ? (await import('./curve-run.mjs')).runCurve : (await import('./scale-run.mjs')).runScale;
    await run({ json: args.json, log, machine: machine(), describeMachine, timed, setWork: (w) => (work = w) });
    return;
  }
  const imageCached = existsSync(join(CACHE, IMAGE_VERSION, 'info.json'));
  checkTools(!imageCached);
  const m = machine();
  log(describeMachine(m).replace(/\n/g, '\nbench: '));
  const image = await prepareImage(CACHE, { mirror: args.mirror ?? debianMirror(), log });
  work = mkdtempSync(join(tmpdir(), 'fledge-pure-bench-'));
  try {
    // the flattened tar tar2sqfs reads: made once, untimed, by fledge-pure export
    const flatTar = join(work, 'flat.tar');
    log("flattening the image once for tar2sqfs (fledge-pure export; this also fills fledge-pure's layer cache)");
    timed(['node', CLI, 'export', '-q', `oci:${image.layout}:${image.tag}`, '-o', flatTar], { env: FP_ENV });
    const flatBytes = statSync(flatTar).size;
    const only = args.only ? args.only.split(',') : undefined;
    const layerTars = image.info.layers.map((l) =>
      join(CACHE, 'xdg/fledge-pure/layers/sha256', l.diffId.replace(/^sha256:/, '')),
    );
    const wanted = (name) => !only || only.some((o) => name.startsWith(o));
    const registry = wanted('cold ext4') ? await startRegistry(join(work, 'registry')) : undefined;
    const coldRef = registry && `${registry.host}/bench:${image.tag}`;
    if (registry) {
      log(`pushing the image to the local registry ${registry.host} for the cold case (untimed)`);
      push(image.layout, image.tag, coldRef);
    }
    const changed = WARM.some(wanted) ? changedImage(CACHE, image, layerTars) : undefined;
    const flat = wanted(FLAT_CASE) ? await flatLayout(work, flatTar, image) : undefined;
    const cases = defineCases(image.layout, image.tag, flatTar, layerTars, coldRef, changed, flat).filter((c) =>
      wanted(c.name),
    );
    let results;
    try {
      results = cases.map(runCase);
    } finally {
      registry?.stop();
    }
    const imageLine =
      `image: Debian ${image.info.suite} + ${image.info.packages.join(' ')}, ` +
      `${image.info.layers.length} gzip layers: ${(image.info.compressedBytes / MiB).toFixed(0)} MiB ` +
      `compressed, ${(image.info.uncompressedBytes / MiB).toFixed(0)} MiB of layer tars, ${(flatBytes / MiB).toFixed(0)} MiB flattened tar (${image.layout})`;
    if (args.json) {
      process.stdout.write(
        JSON.stringify(
          {
            machine: m,
            image: { ...image.info, layout: image.layout, flattenedTarBytes: flatBytes },
            rounds: ROUNDS,
            results,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write(
        `${describeMachine(m)}\n${imageLine}\nrounds: ${ROUNDS} (alternating fledge-pure, peer); wall = ` +
          `median, RSS = max over rounds\n\n${table(results)}\n\n${notes(results)}\n`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  if (work) rmSync(work, { recursive: true, force: true });
  process.exit(130);
});
try {
  await main();
} catch (e) {
  die(e.message, 1);
}
