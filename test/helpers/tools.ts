// The real tools each integration test file runs, and the Debian package of each (.ci/run
// installs them all). With CI set, a missing tool fails the run; without it, a file whose
// tools are missing is left out and one summary line names the packages to install.
// Tools every Debian system has (sh, coreutils, GNU tar, gzip, util-linux, npm with node)
// are not listed. test/unit/tools-table.test.ts checks this table against the commands
// the files and their helpers start.
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's arm64 kernel and programs for an arm64 build VM, as .ci/arm64-root unpacks them (FLEDGE_PURE_ARM64_ROOT). */
export const ARM64_ROOT =
  process.env.FLEDGE_PURE_ARM64_ROOT || fileURLToPath(new URL('../../node_modules/.arm64/root', import.meta.url));

/**
 * tool → the Debian package that installs it ('vmlinuz' is a /boot/vmlinuz-* kernel;
 * 'arm64-root' is ARM64_ROOT, made by the script .ci/arm64-root, not by apt-get install).
 */
export const PACKAGE: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-system-aarch64': 'qemu-system-arm',
  'arm64-root': '.ci/arm64-root',
  vmlinuz: 'linux-image-amd64',
  busybox: 'busybox-static',
  cpio: 'cpio',
  bsdtar: 'libarchive-tools',
  zstd: 'zstd',
  getfattr: 'attr',
  setfattr: 'attr',
  umoci: 'umoci',
  skopeo: 'skopeo',
  'docker-registry': 'docker-registry',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
  unsquashfs: 'squashfs-tools',
  mksquashfs: 'squashfs-tools',
  rdsquashfs: 'squashfs-tools-ng',
  lz4: 'lz4',
  btrfs: 'btrfs-progs',
  xfs_repair: 'xfsprogs',
  xfs_db: 'xfsprogs',
  'mkfs.xfs': 'xfsprogs',
  'qemu-img': 'qemu-utils',
  buildah: 'buildah',
  e2fsck: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
  mke2fs: 'e2fsprogs',
  clang: 'clang',
  'wasm-ld': 'lld',
  time: 'time',
  patch: 'patch',
  setcap: 'libcap2-bin',
  debootstrap: 'debootstrap',
  'dpkg-deb': 'dpkg',
  'dpkg-scanpackages': 'dpkg-dev',
};

// what the helpers start (test/helpers/*.ts)
const QEMU = ['qemu-system-x86_64', 'vmlinuz', 'busybox', 'cpio'];
const DISK_BOOT = [...QEMU, 'getfattr'];
const HARD_IMAGE = ['setfattr', 'zstd'];
const REGISTRY = ['docker-registry', 'htpasswd', 'openssl', 'skopeo'];
const SNAPSHOT = ['getfattr'];

/** integration test file (under test/) → the tools it needs, its helpers' included. */
export const TOOLS: Record<string, string[]> = {
  'apply.test.ts': [],
  'boot.test.ts': ['zstd', ...QEMU],
  'btrfs.test.ts': ['btrfs', ...DISK_BOOT],
  'cli.test.ts': ['busybox', ...HARD_IMAGE],
  'cpio-trailer.test.ts': ['bsdtar', ...QEMU],
  'compressed-cache.test.ts': ['qemu-img', 'unsquashfs'],
  'cpio.test.ts': ['bsdtar', 'cpio', ...SNAPSHOT],
  'daemon.test.ts': ['skopeo', ...HARD_IMAGE],
  'ext4-worker.test.ts': [],
  'deep-tree.test.ts': ['bsdtar', 'btrfs', 'debugfs', 'e2fsck', 'unsquashfs', 'xfs_repair'],
  'deflate.test.ts': ['cpio'],
  'disk-format.test.ts': ['e2fsck', 'qemu-img', ...QEMU],
  'dockerfile-build.test.ts': ['bsdtar', 'debugfs', 'e2fsck', 'busybox', ...HARD_IMAGE],
  'dockerfile-cache-lock.test.ts': ['debugfs', 'e2fsck', 'mke2fs', ...QEMU, ...HARD_IMAGE],
  'dockerfile-hypervisor.test.ts': ['debugfs', ...QEMU, ...HARD_IMAGE],
  'dockerfile-node-versions.test.ts': ['e2fsck', 'unsquashfs', ...HARD_IMAGE],
  'dockerfile-oracle.test.ts': ['buildah', 'umoci', ...HARD_IMAGE, ...REGISTRY, ...SNAPSHOT],
  'dockerfile-output-image.test.ts': ['bsdtar', 'skopeo', 'umoci', ...HARD_IMAGE, ...SNAPSHOT],
  'dockerfile-python.test.ts': [
    'bsdtar',
    'buildah',
    'debootstrap',
    'dpkg-deb',
    'dpkg-scanpackages',
    'e2fsck',
    'umoci',
    ...DISK_BOOT,
    ...HARD_IMAGE,
    ...REGISTRY,
    ...SNAPSHOT,
  ],
  'dockerfile-run-arm64.test.ts': ['qemu-system-aarch64', 'arm64-root', 'debugfs', 'e2fsck', ...HARD_IMAGE],
  'dockerfile-run.test.ts': ['buildah', 'setcap', 'umoci', ...QEMU, ...HARD_IMAGE, ...REGISTRY, ...SNAPSHOT],
  'errors.test.ts': [...HARD_IMAGE],
  'dockerfile-seeds.test.ts': ['buildah', 'e2fsck', 'umoci', ...QEMU, ...HARD_IMAGE, ...REGISTRY, ...SNAPSHOT],
  'export-tar.test.ts': [...SNAPSHOT],
  'export.test.ts': ['umoci', ...HARD_IMAGE, ...SNAPSHOT],
  'ext4.test.ts': ['debugfs', 'dumpe2fs', 'e2fsck', 'mke2fs', ...DISK_BOOT],
  'flatten.test.ts': ['umoci', ...HARD_IMAGE, ...REGISTRY, ...SNAPSHOT],
  'hostile-io.test.ts': ['bsdtar', 'busybox'],
  'hostile-net.test.ts': [],
  'hostile-signal.test.ts': ['busybox'],
  'hostile-tar.test.ts': [...HARD_IMAGE],
  'initramfs-image.test.ts': ['bsdtar', 'skopeo', ...QEMU, ...HARD_IMAGE],
  'initramfs.test.ts': ['bsdtar', 'cpio', 'busybox'],
  'layer-file.test.ts': ['zstd'],
  'limits.test.ts': ['bsdtar', 'cpio', 'debugfs', 'e2fsck', 'rdsquashfs', 'unsquashfs'],
  'lz4.test.ts': ['lz4', 'clang', 'wasm-ld', 'patch'],
  'oci-rootfs.test.ts': [...HARD_IMAGE],
  'package.test.ts': [...QEMU],
  'proxy.test.ts': [...REGISTRY],
  'qcow2.test.ts': ['qemu-img', ...DISK_BOOT],
  'qemu-harness.test.ts': [...QEMU],
  'registry.test.ts': [...REGISTRY],
  'reproducible.test.ts': ['debugfs', 'dumpe2fs', ...REGISTRY],
  'rootfs-build.test.ts': ['btrfs', 'e2fsck', 'unsquashfs', 'xfs_repair', ...DISK_BOOT, ...HARD_IMAGE],
  'seed-forms.test.ts': ['e2fsck', 'skopeo'],
  'sparse.test.ts': ['rdsquashfs', 'unsquashfs', ...HARD_IMAGE],
  'squashfs-boot.test.ts': [...DISK_BOOT],
  'squashfs-build.test.ts': ['unsquashfs', ...HARD_IMAGE],
  'squashfs.test.ts': ['mksquashfs', 'rdsquashfs', 'unsquashfs', ...DISK_BOOT, ...HARD_IMAGE],
  'tar.test.ts': ['setfattr'],
  'volant.test.ts': [],
  'xfs.test.ts': ['mkfs.xfs', 'xfs_db', 'xfs_repair', ...DISK_BOOT],
  'zlib-wasm.test.ts': ['clang', 'wasm-ld', 'patch'],
  'zstd-codec.test.ts': ['zstd'],
  // wasm/zstd/build.sh also needs wasi-libc and libclang-rt-14-dev-wasm32 (no command of their own)
  'zstd-stream.test.ts': ['zstd', 'clang', 'wasm-ld', 'time'],
};

const found = new Map<string, boolean>();

/** Whether `tool` is on PATH (or in an sbin folder), or for 'vmlinuz' whether /boot holds a kernel. */
export function hasTool(tool: string): boolean {
  if (!found.has(tool)) found.set(tool, lookUp(tool));
  return found.get(tool)!;
}

function lookUp(tool: string): boolean {
  if (tool === 'vmlinuz') return existsSync('/boot') && readdirSync('/boot').some((n) => n.startsWith('vmlinuz-'));
  if (tool === 'arm64-root') return existsSync(join(ARM64_ROOT, 'boot'));
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d !== '' && existsSync(join(d, tool)));
}

/** The integration files whose tools are all here, and the missing tools with the files they leave out. */
export function toolCheck(): { runnable: string[]; missing: Map<string, string[]> } {
  const runnable: string[] = [];
  const missing = new Map<string, string[]>();
  for (const [file, tools] of Object.entries(TOOLS)) {
    const absent = [...new Set(tools)].filter((t) => !hasTool(t));
    if (absent.length === 0) runnable.push(file);
    for (const t of absent) missing.set(t, [...(missing.get(t) ?? []), file]);
  }
  return { runnable, missing };
}

/** One line: which files are skipped and what to install (`apt-get install …`). */
export function skipLine(missing: Map<string, string[]>): string {
  const files = new Set([...missing.values()].flat());
  const all = [...new Set([...missing.keys()].map((t) => PACKAGE[t]))].sort();
  const packages = all.filter((p) => !p.startsWith('.ci/'));
  const scripts = all.filter((p) => p.startsWith('.ci/')).map((p) => `bash ${p}`);
  const tools = [...missing.keys()].sort().join(', ');
  const install = [...(packages.length ? [`apt-get install ${packages.join(' ')}`] : []), ...scripts].join('; ');
  return `skipped ${files.size} integration test file(s): missing ${tools}; ${install} (bash .ci/run installs every tool)`;
}
