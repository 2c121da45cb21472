// The initramfs strategy (Fledge internal/builder/initramfs.go, seeds 003/004):
// [image] → skeleton → busybox and its applet links → init and
// agent → [mappings] → newc cpio, gzip.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FledgeConfig } from '../config/types.js';
import type { Limits } from '../limits.js';
import { download } from '../download.js';
import { BuildError } from '../errors.js';
import { bytesContent, fileContent } from '../tree/content.js';
import { makeNode, type Time, Tree } from '../tree/tree.js';
import { flatten } from '../oci/image.js';
import { openImage } from '../oci/sources/open.js';
import { fetchAgent } from './agent.js';
import { applyMappings } from './mappings.js';

/** Fledge's pinned default (seed 003). */
export const DEFAULT_BUSYBOX_URL = 'https://busybox.net/downloads/binaries/1.35.0-x86_64-linux-musl/busybox';
export const DEFAULT_BUSYBOX_SHA256 = '6e123e7f3202a8c1e9b1f94d8941580a25135382b99e8d3e34fb858bba311348';

/** Fledge's applet list plus what a PID 1 script needs to stop the VM and pivot. */
export const BUSYBOX_APPLETS = [
  'sh',
  'ash',
  'ls',
  'cat',
  'cp',
  'mv',
  'rm',
  'mkdir',
  'rmdir',
  'ln',
  'chmod',
  'chown',
  'ps',
  'kill',
  'mount',
  'umount',
  'grep',
  'sed',
  'awk',
  'find',
  'test',
  'echo',
  'printf',
  'true',
  'false',
  'sleep',
  'pwd',
  'env',
  'which',
  'tar',
  'gzip',
  'gunzip',
  'wget',
  'vi',
  'poweroff',
  'reboot',
  'switch_root',
];

const SKELETON_DIRS = [
  'bin',
  'sbin',
  'etc',
  'proc',
  'sys',
  'dev',
  'tmp',
  'run',
  'root',
  'usr/bin',
  'usr/sbin',
  'usr/lib',
  'var/log',
];

/**
 * The default /init: Fledge's init.c as a busybox script (no C compiler at build
 * time). It mounts what the agent expects, makes the console its stdio, and hands
 * PID 1 to /bin/kestrel; if anything fails the VM powers off instead of panicking.
 */
export const DEFAULT_INIT = `#!/bin/busybox sh
# fledge-pure default init: mount the basics, then make /bin/kestrel PID 1.
bb=/bin/busybox
fail() { $bb echo "init: $*" >&2; $bb poweroff -f; }
$bb mount -t devtmpfs devtmpfs /dev || fail "cannot mount /dev"
exec 0</dev/console 1>/dev/console 2>&1
$bb mount -t proc proc /proc || fail "cannot mount /proc"
$bb mount -t sysfs sysfs /sys || fail "cannot mount /sys"
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "cannot mount /tmp"
$bb mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount /run"
[ -x /bin/kestrel ] || fail "/bin/kestrel is missing or not executable"
exec /bin/kestrel
fail "cannot run /bin/kestrel"
`;

export interface InitramfsInputs {
  config: FledgeConfig;
  /** the build's "now": every added entry gets it */
  epoch: Time;
  /** the image to start from (skopeo-style source), if any */
  image?: string;
  /** an image built from a Dockerfile, instead */
  built?: { tree: Tree; config: Buffer };
  /** told the image's config blob, when there is an image */
  onImageConfig?: (config: Buffer) => void;
  /** where relative image paths resolve, the platform to pick, plain-HTTP registries */
  cwd: string;
  platform?: string;
  insecure?: string[];
  log: (line: string) => void;
  limits?: Partial<Limits>;
  /** the cache folder (src/cache.ts) */
  cacheDir?: string;
  /** the GitHub API base for release agents */
  githubApi?: string;
}

/** The skeleton's folders and devices, where the tree (an image) does not have them already. */
function addSkeleton(tree: Tree, epoch: Time): void {
  const modes: Record<string, number> = { tmp: 0o1777, root: 0o700 };
  for (const d of SKELETON_DIRS) {
    const path = tree.resolve(d, true).join('/');
    if (!tree.get(path)) tree.mkdirp(path, { mode: modes[d] ?? 0o755, mtime: epoch });
  }
  const dev = tree.resolve('dev', true).join('/');
  for (const [name, mode, major, minor] of [
    ['console', 0o600, 5, 1],
    ['null', 0o666, 1, 3],
  ] as const) {
    if (!tree.get(`${dev}/${name}`))
      tree.set(`${dev}/${name}`, makeNode('char', { mode, mtime: epoch }, { rdev: { major, minor } }));
  }
}

async function addBusybox(tree: Tree, { config, epoch, log, limits, cacheDir }: InitramfsInputs): Promise<void> {
  const { busybox_url, busybox_sha256 } = config.source;
  // a plain path (not a URL) is a local file, relative to the config's folder
  const url = !busybox_url
    ? DEFAULT_BUSYBOX_URL
    : /^[a-z]+:\/\//.test(busybox_url)
      ? busybox_url
      : resolve(config.dir, busybox_url);
  const sha = busybox_url ? busybox_sha256 : (busybox_sha256 ?? DEFAULT_BUSYBOX_SHA256);
  if (!sha) log(`warning: [source] busybox_url has no busybox_sha256: ${url} is used unchecked`);
  log(`busybox: ${url}`);
  const path = await download(
    url,
    sha,
    'busybox',
    'fix [source] busybox_url / busybox_sha256 in fledge.toml',
    limits,
    cacheDir,
  );
  const size = statSync(path).size;
  tree.place(
    '/bin/busybox',
    makeNode('file', { mode: 0o755, mtime: epoch }, { content: fileContent(path, size) }),
    epoch,
  );
  const bin = tree.get(tree.resolve('/bin', true).join('/'));
  if (bin?.type !== 'dir') throw new BuildError('/bin is not a directory after placing /bin/busybox');
  for (const applet of BUSYBOX_APPLETS) {
    if (bin.entries.has(applet)) continue;
    tree.add(bin, applet, makeNode('symlink', { mode: 0o777, mtime: epoch }, { target: Buffer.from('busybox') }));
  }
}

async function addInit(
  tree: Tree,
  { config, epoch, log, limits, cacheDir, githubApi }: InitramfsInputs,
): Promise<void> {
  const init = config.init;
  if (init.mode === 'none') {
    log('init: none (your /init is PID 1)');
    return;
  }
  if (init.mode === 'custom') {
    log(`init: ${init.path}`);
    let size;
    try {
      size = statSync(init.path).size;
    } catch {
      throw new BuildError(`init: ${init.path} does not exist; fix [init] path in fledge.toml`);
    }
    tree.place(
      '/init',
      makeNode('file', { mode: 0o755, mtime: epoch }, { content: fileContent(init.path, size) }),
      epoch,
    );
    return;
  }
  const agent = await fetchAgent(config.agent!, { limits, cacheDir, githubApi });
  log(`agent: ${agent}`);
  tree.place(
    '/init',
    makeNode('file', { mode: 0o755, mtime: epoch }, { content: bytesContent(Buffer.from(DEFAULT_INIT)) }),
    epoch,
  );
  const content = fileContent(agent, statSync(agent).size);
  tree.place('/bin/kestrel', makeNode('file', { mode: 0o755, mtime: epoch }, { content }), epoch);
}

/** The image's tree (flattened), or an empty root. */
export async function baseTree(
  image: string | undefined,
  { epoch, log, cwd, platform, insecure, limits, cacheDir, onImageConfig, built }: InitramfsInputs,
): Promise<Tree> {
  if (built) {
    onImageConfig?.(built.config);
    return built.tree;
  }
  if (!image) return new Tree({ mode: 0o755, mtime: epoch });
  log(`image: ${image}`);
  const local = await openImage(image, { cwd, log, platform, insecure, limits, cacheDir });
  onImageConfig?.(local.config);
  return flatten(local, log, epoch, limits);
}

/** [init] none: the image or a mapping must have put something at /init, or the VM cannot boot. */
function checkNoneInit(tree: Tree, config: FledgeConfig): void {
  if (config.init.mode !== 'none' || tree.get('init')) return;
  throw new BuildError(
    `init: [init] none = true but nothing is at /init, so the kernel has nothing to run; map your ` +
      `program there ([mappings] "./my-init" = "/init" in ${config.file}) or remove [init] for the default init`,
  );
}

export async function initramfsTree(inputs: InitramfsInputs): Promise<Tree> {
  const tree = await baseTree(inputs.image, inputs);
  addSkeleton(tree, inputs.epoch);
  await addBusybox(tree, inputs);
  await addInit(tree, inputs);
  applyMappings(tree, inputs.config.mappings, inputs.epoch);
  checkNoneInit(tree, inputs.config);
  return tree;
}
