// The helper initramfs of a build VM, written by our own newc writer: a static busybox,
// the kernel modules for virtio disks and network, ext4 and overlayfs, the host's GNU tar
// (to keep xattrs) and setpriv (util-linux, to run a step as a non-root USER), each with
// its libraries and loader, and /init. /init mounts the
// stage's root (/dev/vda, ext4, read-only) under an overlayfs whose upper layer is on
// the scratch disk (/dev/vdb, ext4), mounts /dev, /proc, /sys inside, runs
// /scratch/step.sh (written by the host) and, when it succeeds, writes the upper layer
// as a pax tar with every xattr (SCHILY.xattr.*: security.capability, and overlayfs's
// trusted.overlay.opaque) to /dev/vdc. It reports on the console with
// lines `@@FP-<nonce> EXIT <code>` and `@@FP-<nonce> FAIL <what>`, and marks the step's
// start and end (`@@FP-<nonce> STEP start|end`) for the timing line.
// A guest of another architecture gets the same files from that architecture's Debian
// packages (src/vm/foreign.ts) instead of the host's.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { download } from '../download.js';
import { DEFAULT_BUSYBOX_SHA256, DEFAULT_BUSYBOX_URL } from '../pipeline/initramfs.js';
import { writeInitramfs } from '../pipeline/write-initramfs.js';
import { bytesContent, fileContent } from '../tree/content.js';
import { makeNode, Tree } from '../tree/tree.js';
import { moduleFiles, type VmKernel } from './kernel.js';

/** The dynamic loader the host's tools are run with (glibc x86_64: /lib64/ld-linux-x86-64.so.2). */
const LOADER = 'ld-linux-x86-64.so.2';

const MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4', 'overlay', 'virtio_net'];

/**
 * QEMU's user-mode network (slirp, no privileges): the guest is 10.0.2.15/24, the host
 * (and its loopback) 10.0.2.2, the DNS forwarder 10.0.2.3 (QEMU docs, "Network
 * options", -netdev user). The step's /etc/resolv.conf, when the image has one, is
 * covered by a bind mount naming that forwarder, so nothing is written into it.
 */
const NETWORK_SCRIPT = `if [ -e /sys/class/net/eth0 ]; then
  ip link set lo up; ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2 || fail "cannot configure the network"
  echo "nameserver 10.0.2.3" > /resolv.conf
  [ -f /root/etc/resolv.conf ] && mount --bind /resolv.conf /root/etc/resolv.conf
fi`;

const INIT = (modules: string[], loader: string) =>
  `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
fail() { echo "@@FP-$nonce FAIL $*"; poweroff -f; }
${modules.map((m) => `insmod /lib/modules/${basename(m)} || fail "cannot load the kernel module ${basename(m)}"`).join('\n')}
mount -t ext4 -o ro,noload /dev/vda /lower || fail "cannot mount the stage's root"
mount -t ext4 /dev/vdb /scratch || fail "cannot mount the scratch disk"
nonce=$(cat /scratch/nonce)
mount -t overlay overlay -o lowerdir=/lower,upperdir=/scratch/upper,workdir=/scratch/work,` +
  `redirect_dir=off,index=off,metacopy=off /root || fail "cannot mount the overlay"
mkdir -p /root/dev && mount -t devtmpfs dev /root/dev || fail "cannot mount /dev in the step's root"
mkdir -p /root/dev/pts && mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /root/dev/pts
[ -d /root/proc ] && mount -t proc proc /root/proc
[ -d /root/sys ] && mount -t sysfs sys /root/sys
${NETWORK_SCRIPT}
cp -a /fp /dev/.fp
echo "@@FP-$nonce STEP start"
sh /scratch/step.sh
code=$?
echo "@@FP-$nonce STEP end"
umount /root/etc/resolv.conf /root/sys /root/proc 2>/dev/null
umount /root/dev/pts /root/dev
if [ $code = 0 ]; then
  umount /root || fail "cannot unmount the overlay"
  /fp/lib/${loader} --library-path /fp/lib /fp/tar --format=posix --xattrs --xattrs-include='*' ` +
  `--numeric-owner -C /scratch -cf /dev/vdc upper || fail "cannot write the step's layer"
fi
sync
echo "@@FP-$nonce EXIT $code"
poweroff -f
`;

function hostFile(tree: Tree, from: string, to: string, mode = 0o755): void {
  tree.set(to, makeNode('file', { mode }, { content: fileContent(from, statSync(from).size) }));
}

/** A static busybox: FLEDGE_PURE_BUSYBOX, else the host's /bin/busybox (Debian busybox-static), else Fledge's pinned one. */
async function busybox(cacheDir: string): Promise<string> {
  const given = process.env.FLEDGE_PURE_BUSYBOX;
  if (given) return given;
  if (existsSync('/bin/busybox')) return '/bin/busybox';
  return download(
    DEFAULT_BUSYBOX_URL,
    DEFAULT_BUSYBOX_SHA256,
    'RUN: busybox for the build VM',
    'install busybox-static, or set FLEDGE_PURE_BUSYBOX=/path/to/static/busybox',
    {},
    cacheDir,
  );
}

/** A host tool with its libraries and loader under /fp (setpriv runs inside the step's root from /dev/.fp). */
function hostTool(path: string, name: string): Array<[string, string]> {
  const libs = [...execFileSync('ldd', [path], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
  return [[path, `fp/${name}`], ...libs.map((lib): [string, string] => [lib, `fp/lib/${basename(lib)}`])];
}

/** GNU tar (busybox tar drops xattrs): the first of /usr/bin/tar, /bin/tar that says it is GNU tar. */
function gnuTar(): string {
  for (const p of ['/usr/bin/tar', '/bin/tar']) {
    if (existsSync(p) && execFileSync(p, ['--version'], { encoding: 'utf8' }).startsWith('tar (GNU tar)')) return p;
  }
  throw new Error(
    "RUN needs GNU tar on the host (/usr/bin/tar) to read back the step's files with their xattrs; install tar",
  );
}

/** The programs the helper runs: a static busybox, and under /fp GNU tar, setpriv, their libraries and loader. */
export interface HelperTools {
  busybox: string;
  /** [file, its path in the initramfs] */
  files: Array<[string, string]>;
  /** setpriv is there: steps can run as another user */
  setpriv: boolean;
  /** the loader's name in /fp/lib */
  loader: string;
}

/** The host's own tools (a guest of the host's architecture); a busybox it has to download goes to the cache under `cacheDir`. */
export async function hostTools(cacheDir: string): Promise<HelperTools> {
  const files = hostTool(gnuTar(), 'tar');
  const setpriv = existsSync('/usr/bin/setpriv');
  if (setpriv) files.push(...hostTool('/usr/bin/setpriv', 'setpriv'));
  return { busybox: await busybox(cacheDir), files, setpriv, loader: LOADER };
}

export interface Helper {
  initrd: string;
  /** setpriv is there: steps can run as another user */
  setpriv: boolean;
  /** the loader's name: the step runs setpriv as /dev/.fp/lib/<loader> */
  loader: string;
}

/** The build VM's initramfs at `path`. */
export async function writeHelperInitramfs(path: string, kernel: VmKernel, tools: HelperTools): Promise<Helper> {
  const tree = new Tree();
  for (const d of ['bin', 'dev', 'proc', 'sys', 'lower', 'scratch', 'root', 'lib/modules', 'fp']) tree.mkdirp(d);
  tree.set('dev/console', makeNode('char', { mode: 0o600 }, { rdev: { major: 5, minor: 1 } }));
  hostFile(tree, tools.busybox, 'bin/busybox');
  hostFile(tree, tools.busybox, 'fp/busybox');
  for (const [from, to] of tools.files) hostFile(tree, from, to);
  const modules = moduleFiles(kernel, MODULES);
  for (const m of modules) hostFile(tree, m, `lib/modules/${basename(m)}`, 0o644);
  const init = INIT(modules, tools.loader);
  tree.set('init', makeNode('file', { mode: 0o755 }, { content: bytesContent(Buffer.from(init)) }));
  await writeInitramfs(tree, path);
  return { initrd: path, setpriv: tools.setpriv, loader: tools.loader };
}
