// Boot a filesystem image under the real kernel: a helper initramfs, built by our own
// cpio writer, loads the Debian kernel's virtio and filesystem modules, mounts the image
// from /dev/vda, runs a script and writes its report to a scratch disk (/dev/vdb),
// which the host reads back. The listing script records every entry as the kernel sees
// it (stat, sha256sum, readlink, getfattr), to compare with the tree the image came from.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { S_IF, S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../../src/posix.js';
import { writeInitramfs } from '../../src/pipeline/write-initramfs.js';
import { bytesContent, fileContent, readContent } from '../../src/tree/content.js';
import { linkCounts, makeNode, type Node, Tree } from '../../src/tree/tree.js';
import { bootInitramfs, kernelPath } from './qemu.js';

export type FsType = 'ext4' | 'squashfs' | 'btrfs' | 'xfs';

const kver = () => basename(kernelPath()).replace(/^vmlinuz-/, '');

/** Module files (with their dependencies first) from modules.dep. */
function modulesFor(names: string[]): string[] {
  const base = `/lib/modules/${kver()}`;
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(`${base}/modules.dep`, 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(basename(mod).replace(/\.ko.*$/, ''), [mod, ...(rest ?? '').trim().split(/\s+/).filter(Boolean)]);
  }
  const out: string[] = [];
  const add = (name: string): void => {
    const entry = deps.get(name);
    if (!entry) throw new Error(`kernel module ${name} not in ${base}/modules.dep`);
    for (const d of entry.slice(1).reverse()) add(basename(d).replace(/\.ko.*$/, ''));
    const file = `${base}/${entry[0]}`;
    if (!out.includes(file)) out.push(file);
  };
  for (const n of names) add(n);
  return out;
}

const FS_MODULES: Record<FsType, string[]> = {
  // metadata_csum needs the kernel's crc32c
  ext4: ['crc32c_generic', 'ext4'],
  squashfs: ['squashfs'],
  // btrfs checksums with crc32c too (libcrc32c asks the crypto API for it)
  btrfs: ['crc32c_generic', 'btrfs'],
  // xfs checksums its metadata with the kernel's crc32c (libcrc32c)
  xfs: ['crc32c_generic', 'xfs'],
};

/** Shared libraries of a dynamically linked program (ldd), with the loader. */
function libsOf(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
}

function hostFile(tree: Tree, from: string, to = from, mode = 0o755): void {
  tree.set(to, makeNode('file', { mode }, { content: fileContent(from, statSync(from).size) }));
}

/** Prints every entry under the current directory for parseListing(). */
export const LIST_SCRIPT = [
  `find . -print0 | xargs -0 stat -c 'E|%f|%u|%g|%h|%i|%t|%T|%s|%Y|%y|%n'`,
  `find . -type f -print0 | xargs -0 -r sha256sum | sed 's/^/H|/'`,
  `find . -type l | while IFS= read -r p; do echo "L|$p|$(readlink "$p")"; done`,
  `getfattr -R -P -h -d -m - -e hex . 2>/dev/null | sed 's/^/X|/'`,
].join('\n');

export interface DiskBoot {
  image: string;
  fstype: FsType;
  /** how the image is stored: raw (default) or qcow2 (QEMU's -drive format=qcow2) */
  format?: 'raw' | 'qcow2';
  /** mount options; default ro */
  mountOptions?: string;
  /** shell run in /mnt after the mount; its output is the report */
  script: string;
  timeoutMs?: number;
  memMb?: number;
  /** host programs (with their shared libraries) to put in the helper initramfs, e.g. /usr/bin/btrfs */
  tools?: string[];
}

export interface DiskResult {
  console: string;
  report: string;
}

/** The helper initramfs: busybox, getfattr (and `tools`), the modules for `fstype`, and `init`. */
async function helperInitramfs(
  dir: string,
  fstype: FsType,
  init: (modules: string[]) => string[],
  extra: Record<string, string> = {},
  tools: string[] = [],
): Promise<string> {
  const tree = new Tree();
  for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt', 'tmp', 'lib/modules']) tree.mkdirp(d);
  tree.set('dev/console', makeNode('char', { mode: 0o600 }, { rdev: { major: 5, minor: 1 } }));
  hostFile(tree, '/bin/busybox');
  for (const program of ['/usr/bin/getfattr', ...tools]) {
    hostFile(tree, program);
    for (const lib of libsOf(program)) hostFile(tree, lib);
  }
  const mods = modulesFor(['virtio_pci', 'virtio_blk', ...FS_MODULES[fstype]]);
  for (const m of mods) hostFile(tree, m, `/lib/modules/${basename(m)}`, 0o644);
  const lines = [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'export PATH=/bin:/usr/bin',
    ...mods.map((m) => `insmod /lib/modules/${basename(m)}`),
    ...init(mods),
    '',
  ];
  tree.set('init', makeNode('file', { mode: 0o755 }, { content: bytesContent(Buffer.from(lines.join('\n'))) }));
  for (const [path, text] of Object.entries(extra))
    tree.set(path, makeNode('file', { mode: 0o644 }, { content: bytesContent(Buffer.from(text)) }));
  const initrd = join(dir, 'helper.cpio.gz');
  await writeInitramfs(tree, initrd);
  return initrd;
}

/**
 * Boots with the image as the real root: the helper initramfs loads the modules, mounts
 * root= as rootfstype= (from the kernel command line) and switch_roots into `init`.
 */
export async function bootAsRoot(
  image: string,
  fstype: FsType,
  init: string,
  o: { until: RegExp; timeoutMs?: number },
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-rootboot-'));
  try {
    const initrd = await helperInitramfs(dir, fstype, () => [
      'mount -t devtmpfs dev /dev',
      'mount -t proc proc /proc',
      'for a in $(cat /proc/cmdline); do case $a in root=*) root=${a#root=};; rootfstype=*) fstype=${a#rootfstype=};; esac; done',
      'umount /proc',
      'mount -t $fstype -o ro $root /mnt || echo ROOT-MOUNT-FAILED',
      'mount --move /dev /mnt/dev 2>/dev/null || umount /dev',
      `exec switch_root /mnt ${init}`,
    ]);
    const r = await bootInitramfs(initrd, {
      drives: [image],
      append: `root=/dev/vda rootfstype=${fstype}`,
      until: o.until,
      timeoutMs: o.timeoutMs ?? 120_000,
    });
    return r.output;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Boots, mounts the image, runs the script; the report is its stdout and stderr. */
export async function bootDisk(o: DiskBoot): Promise<DiskResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fp-diskboot-'));
  try {
    const initrd = await helperInitramfs(
      dir,
      o.fstype,
      () => [
        'mount -t devtmpfs dev /dev',
        'mount -t proc proc /proc',
        `if mount -t ${o.fstype} -o ${o.mountOptions ?? 'ro'} /dev/vda /mnt; then`,
        `  (cd /mnt && sh /script) > /tmp/report 2>&1`,
        'else',
        '  echo MOUNT-FAILED > /tmp/report; dmesg | tail -20 >> /tmp/report',
        'fi',
        'echo "REPORT-END" >> /tmp/report',
        'dd if=/tmp/report of=/dev/vdb bs=1M conv=fsync 2>/dev/null',
        'sync; echo DISK-BOOT-DONE; poweroff -f',
      ],
      { script: o.script + '\n' },
      o.tools,
    );
    const scratch = join(dir, 'report.raw');
    execFileSync('truncate', ['-s', '256M', scratch]);
    const r = await bootInitramfs(initrd, {
      drives: [{ file: o.image, format: o.format ?? 'raw' }, scratch],
      until: /DISK-BOOT-DONE/,
      timeoutMs: o.timeoutMs ?? 180_000,
      memMb: o.memMb ?? 768,
    });
    const report = readReport(scratch);
    if (!report.endsWith('REPORT-END\n'))
      throw new Error(`no report from the guest (timed out: ${r.timedOut}); console:\n${r.output.slice(-3000)}`);
    return { console: r.output, report: report.slice(0, -'REPORT-END\n'.length) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readReport(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const chunks: Buffer[] = [];
    for (let at = 0; ;) {
      const buf = Buffer.alloc(1 << 20);
      const n = readSync(fd, buf, 0, buf.length, at);
      const nul = buf.subarray(0, n).indexOf(0);
      if (nul >= 0 || n === 0) {
        chunks.push(buf.subarray(0, nul >= 0 ? nul : n));
        break;
      }
      chunks.push(buf.subarray(0, n));
      at += n;
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/** One entry as the kernel shows it; paths are "." or "./a/b" (latin1 of the bytes). */
export interface Entry {
  mode: string;
  uid: number;
  gid: number;
  mtime: string;
  rdev?: string;
  size?: number;
  sha256?: string;
  target?: string;
  nlink: number;
  xattrs: Record<string, string>;
  /** entries with the same value are the same inode */
  inode?: string;
}

/** The listing a correct filesystem gives for the tree. Inode groups are named by first path. */
export function treeListing(tree: Tree): Map<string, Entry> {
  const counts = linkCounts(tree);
  const out = new Map<string, Entry>();
  const first = new Map<Node, string>();
  const entry = (path: string, n: Node): Entry => {
    if (!first.has(n)) first.set(n, path);
    const e: Entry = {
      mode: (S_IF[n.type] | n.mode).toString(16),
      uid: n.uid,
      gid: n.gid,
      mtime: `${n.mtime.sec}.${String(n.mtime.nsec).padStart(9, '0')}`,
      nlink: counts.get(n)!,
      xattrs: Object.fromEntries([...n.xattrs].map(([k, v]) => [k, Buffer.from(v).toString('hex')]).sort()),
      inode: first.get(n),
    };
    if (n.type === 'char' || n.type === 'block') e.rdev = `${n.rdev!.major}:${n.rdev!.minor}`;
    if (n.type === 'file') {
      const h = createHash('sha256');
      for (const c of readContent(n.content!)) h.update(c);
      e.size = n.content!.size;
      e.sha256 = h.digest('hex');
    }
    if (n.type === 'symlink') {
      e.size = n.target!.length;
      e.target = Buffer.from(n.target!).toString('latin1');
    }
    return e;
  };
  out.set('.', entry('.', tree.root));
  for (const { path, node } of tree.walk()) {
    const p = `./${path.toString('latin1')}`;
    out.set(p, entry(p, node));
  }
  return nameInodes(out);
}

/** Parses the output of LIST_SCRIPT. */
export function parseListing(report: string): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const byInode = new Map<string, string>();
  let xattrFile: string | undefined;
  for (const line of report.split('\n')) {
    const f = line.split('|');
    if (f[0] === 'E') {
      const [, mode, uid, gid, nlink, ino, maj, min, size, , human, ...name] = f;
      const path = name.join('|');
      const frac = /\.(\d+)/.exec(human)?.[1] ?? '0';
      const sec = Number(f[9]);
      const type = parseInt(mode, 16) & S_IFMT;
      const isDir = type === S_IFDIR;
      if (!byInode.has(ino)) byInode.set(ino, path);
      const e: Entry = {
        mode,
        uid: Number(uid),
        gid: Number(gid),
        mtime: `${sec}.${frac.padEnd(9, '0')}`,
        nlink: Number(nlink),
        xattrs: {},
        inode: byInode.get(ino),
      };
      if (type === S_IFCHR || type === S_IFBLK) e.rdev = `${parseInt(maj, 16)}:${parseInt(min, 16)}`;
      if (!isDir && (type === S_IFREG || type === S_IFLNK)) e.size = Number(size);
      out.set(path, e);
    } else if (f[0] === 'H') {
      const m = /^H\|([0-9a-f]{64}) {2}(.*)$/.exec(line)!;
      out.get(m[2])!.sha256 = m[1];
    } else if (f[0] === 'L') {
      out.get(f[1])!.target = f.slice(2).join('|');
    } else if (f[0] === 'X') {
      const rest = line.slice(2);
      if (rest.startsWith('# file: ')) {
        const p = rest.slice(8);
        xattrFile = p === '.' ? '.' : p.startsWith('./') ? p : `./${p}`;
      } else if (rest.includes('=') && xattrFile) {
        const eq = rest.indexOf('=');
        out.get(xattrFile)!.xattrs[rest.slice(0, eq)] = rest.slice(eq + 1).replace(/^0x/, '');
      }
    }
  }
  for (const e of out.values()) e.xattrs = Object.fromEntries(Object.entries(e.xattrs).sort());
  return nameInodes(out);
}

/** Names each inode group by its smallest path, so listings from any walk order compare. */
function nameInodes(listing: Map<string, Entry>): Map<string, Entry> {
  const least = new Map<string, string>();
  for (const [p, e] of listing) if (!least.has(e.inode!) || p < least.get(e.inode!)!) least.set(e.inode!, p);
  for (const e of listing.values()) e.inode = least.get(e.inode!);
  return listing;
}

const canonical = (e: Entry) =>
  JSON.stringify(Object.fromEntries(Object.entries(e).sort(([a], [b]) => (a < b ? -1 : 1))));

/** Differences between two listings, one line each; `ignore` paths (and below) are skipped. */
export function diffListings(
  expected: Map<string, Entry>,
  actual: Map<string, Entry>,
  ignore: string[] = [],
): string[] {
  const skip = (p: string) => ignore.some((i) => p === i || p.startsWith(`${i}/`));
  const diffs: string[] = [];
  for (const [p, e] of expected) {
    const a = actual.get(p);
    if (!a) diffs.push(`missing ${p}`);
    else if (canonical(a) !== canonical(e)) diffs.push(`${p}: expected ${canonical(e)} got ${canonical(a)}`);
  }
  for (const p of actual.keys()) if (!expected.has(p) && !skip(p)) diffs.push(`unexpected ${p}`);
  return diffs;
}
