// RUN in a build VM (QEMU with Debian's kernel; KVM when usable, else TCG), against
// buildah (--isolation chroot) running the same Dockerfile: the step makes files, a hard
// link, a fifo, a symlink, a setuid file, a folder with another owner, removes image
// paths (whiteouts) and replaces a folder (opaque), then runs as a USER from the image's
// /etc/passwd. Our tree must equal buildah's (paths, types, modes, owners, content,
// links). RUN --mount binds a context folder, keeps a cache between steps, mounts a
// tmpfs. A failing step stops the build with its line and exit code; its output
// streams, prefixed by the step. A step reaches the host through QEMU's user-mode NAT;
// the same step on the same tree comes from the step cache without a VM.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerfile } from '../src/dockerfile/build.js';
import { readContent } from '../src/tree/content.js';
import type { Time } from '../src/tree/tree.js';
import { buildahBuild } from './helpers/buildah.js';
import { serveFiles } from './helpers/http.js';
import { writeHardLayout } from './helpers/hard-image.js';
import { push, type Registry, startRegistry } from './helpers/registry.js';
import { snapshotDir, snapshotTree } from './helpers/snapshot.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-dockerfile-run-'));
let savedCache: string | undefined;
let registry: Registry;
let base: string;

/** One boot under TCG on a loaded 2-core machine can take minutes. */
const BOOTS_MS = 300_000;

const APPLETS = [
  'sh',
  'echo',
  'mkdir',
  'ln',
  'chmod',
  'chown',
  'rm',
  'mkfifo',
  'id',
  'pwd',
  'touch',
  'cat',
  'wget',
  'cp',
  'wc',
  'ls',
];

function put(root: string, path: string, data: string, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), data);
  chmodSync(join(root, path), mode);
}

/** A busybox image (Debian's static busybox) with users, a file to remove and a folder to replace. */
function baseLayout(): string {
  const root = join(scratch, 'base-root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
  // setcap (libcap2-bin) from the host, with its libraries and loader at the same paths
  const libs = [...execFileSync('ldd', ['/usr/sbin/setcap'], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map(
    (m) => m[1],
  );
  for (const f of ['/usr/sbin/setcap', ...libs]) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    copyFileSync(f, join(root, f));
    chmodSync(join(root, f), 0o755);
  }
  put(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1001::/home/alice:/bin/sh\n');
  put(root, 'etc/group', 'root:x:0:\nalicegrp:x:1001:\n');
  put(root, 'etc/removeme', 'gone\n');
  put(root, 'etc/old/a', 'old\n');
  put(root, 'etc/old/sub/b', 'old\n');
  // what buildah mounts over (it leaves empty mount points in the layer otherwise)
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf']) put(root, f, '');
  for (const d of ['tmp', 'dev', 'proc', 'sys', 'run']) mkdirSync(join(root, d));
  chmodSync(join(root, 'tmp'), 0o1777);
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', '.'], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  const layout = join(scratch, 'base');
  writeHardLayout(layout, [tar], 'gzip', 'base', {
    history: [{ created_by: 'test base layer' }],
    config: { Env: ['PATH=/bin'] },
  });
  return layout;
}

beforeAll(async () => {
  savedCache = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = join(scratch, 'cache');
  registry = await startRegistry();
  base = `${registry.host}/busybox:1`;
  await push(baseLayout(), 'base', base);
});
afterAll(async () => {
  await registry?.stop();
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
});

async function ours(
  text: string,
  log: (l: string) => void = () => {},
  clamp?: Time,
  files: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(scratch, 'df-'));
  writeFileSync(join(dir, 'Dockerfile'), text);
  for (const [path, data] of Object.entries(files)) put(dir, path, data);
  return {
    dir,
    built: buildDockerfile({
      dockerfile: join(dir, 'Dockerfile'),
      context: dir,
      buildArgs: {},
      cwd: dir,
      epoch: { sec: 0, nsec: 0 },
      clamp,
      log,
    }),
  };
}

describe('RUN in a build VM', () => {
  it(
    'makes, removes and replaces files as buildah does; runs as USER; streams its output',
    async () => {
      const text = `FROM ${base}
ENV GREETING=hello
WORKDIR /work
RUN echo "$GREETING from $(pwd)" > made.txt && mkdir -p /new/dir && echo x > /new/dir/f && ln /new/dir/f /new/hard \\
 && chmod 4750 /new/dir/f && chown 1000:1001 /new/dir && mkfifo /new/fifo && ln -s ../work/made.txt /new/link \\
 && rm /etc/removeme && rm -rf /etc/old && mkdir /etc/old && echo new > /etc/old/n && echo streamed-output \\
 && cp /bin/busybox /bin/x && /usr/sbin/setcap cap_net_raw+ep /bin/x
USER alice
RUN ["/bin/sh", "-c", "id > /tmp/id.txt && touch /tmp/alice-file; [ -e /dev/pts/ptmx ] && echo has-devpts; printf no-newline"]
`;
      const lines: string[] = [];
      const { dir, built } = await ours(text, (l) => lines.push(l), { sec: 1000, nsec: 0 });
      const tree = (await built).tree;
      const theirs = buildahBuild(scratch, { context: dir, dockerfile: join(dir, 'Dockerfile') });
      const skip = (p: string) => p === 'tmp/id.txt';
      expect(snapshotTree(tree, { skip, xattrs: true })).toEqual(snapshotDir(theirs.rootfs, { skip, xattrs: true }));
      // setcap's security.capability (VFS_CAP_REVISION_2, cap_net_raw = bit 13, effective)
      expect(Buffer.from(tree.get('bin/x')!.xattrs.get('security.capability')!).toString('hex')).toBe(
        '0100000200200000000000000000000000000000',
      );
      // SOURCE_DATE_EPOCH: the steps' times are clamped to it, the image's own are kept
      for (const p of ['work/made.txt', 'new/dir/f', 'etc', 'etc/old', 'tmp/alice-file'])
        expect(tree.get(p)!.mtime, p).toEqual({ sec: 1000, nsec: 0 });
      expect(tree.get('etc/passwd')!.mtime.sec).toBe(1700000000);
      const paths = new Set(snapshotTree(tree).map((e) => e.path));
      for (const p of ['work/made.txt', 'new/hard', 'new/fifo', 'etc/old/n', 'tmp/alice-file'])
        expect(paths.has(p), p).toBe(true);
      for (const p of ['etc/removeme', 'etc/old/a', 'etc/old/sub']) expect(paths.has(p), p).toBe(false);
      expect(tree.get('new/hard')).toBe(tree.get('new/dir/f'));
      expect(tree.get('new/dir/f')!.mode).toBe(0o4750);
      expect(tree.get('tmp/alice-file')).toMatchObject({ uid: 1000, gid: 1001 });
      expect(lines).toContain('[0] RUN | streamed-output');
      // /dev/pts is mounted (apt's log needs it); output without a final newline is shown, the end marker is not
      expect(lines).toContain('[0] RUN | has-devpts');
      expect(lines).toContain('[0] RUN | no-newline');
      expect(lines.filter((l) => l.includes('@@FP'))).toEqual([]);
    },
    BOOTS_MS * 2,
  );

  it(
    'RUN --mount: a bind of the context (read-only), a cache kept between steps, a tmpfs; mount stubs leave nothing behind',
    async () => {
      const text = `FROM ${base}
WORKDIR /work
RUN --mount=type=bind,source=sub,target=/ctx --mount=type=cache,target=/var/cache/t --mount=type=tmpfs,target=/work/tmp \\
    cat /ctx/a > /from-bind && echo x >> /var/cache/t/count && echo t > /work/tmp/f && ls /work/tmp > /tmpfs-list \\
 && (touch /ctx/b 2>/dev/null && echo writable || echo read-only) > /bind-ro
RUN --mount=type=cache,target=/var/cache/t wc -l < /var/cache/t/count > /cache-count
`;
      const lines: string[] = [];
      const { dir, built } = await ours(text, (l) => lines.push(l), undefined, { 'sub/a': 'from the context\n' });
      // the VM's console lines say why, should the step fail
      const tree = (await built.catch((e: Error) => Promise.reject(new Error(`${e.message}\n${lines.join('\n')}`))))
        .tree;
      expect(
        lines.filter((l) =>
          /^\[0\] RUN: time: disks [\d.]+ s, VM start [\d.]+ s, step [\d.]+ s, layer read-back [\d.]+ s$/.test(l),
        ),
      ).toHaveLength(2);
      const cat = (p: string) => Buffer.concat([...readContent(tree.get(p)!.content!)]).toString();
      expect([cat('from-bind'), cat('tmpfs-list'), cat('bind-ro'), cat('cache-count').trim()]).toEqual([
        'from the context\n',
        'f\n',
        'read-only\n',
        '1',
      ]);
      for (const p of ['ctx', 'var', 'work/tmp']) expect(tree.get(p), p).toBeUndefined();
      // buildah removes the mount points it made but keeps their new parent folders (var,
      // var/cache); BuildKit's stub cleaner removes those too, as we do
      const theirs = buildahBuild(scratch, { context: dir, dockerfile: join(dir, 'Dockerfile') });
      const skip = (p: string) => p === 'var' || p === 'var/cache';
      expect(snapshotTree(tree, { xattrs: true })).toEqual(snapshotDir(theirs.rootfs, { xattrs: true, skip }));
    },
    BOOTS_MS * 2,
  );

  it(
    "reaches the host through user-mode NAT (10.0.2.2 is the host's loopback); a rebuild takes the step from the cache",
    async () => {
      const server = await serveFiles({ '/data': Buffer.from('over the network\n') });
      try {
        const text = `FROM ${base}\nRUN wget -q -O /fetched http://10.0.2.2:${new URL(server.url).port}/data\n`;
        const node = (await (await ours(text)).built).tree.get('fetched')!;
        expect(Buffer.concat([...readContent(node.content!)]).toString()).toBe('over the network\n');
        // the same step again: from the step cache, no VM, no request
        const lines: string[] = [];
        const again = (await (await ours(text, (l) => lines.push(l))).built).tree.get('fetched')!;
        expect(Buffer.concat([...readContent(again.content!)]).toString()).toBe('over the network\n');
        expect(lines.some((l) => /^\[0\] RUN: cached \(step [0-9a-f]{12}\), no VM$/.test(l))).toBe(true);
        expect(lines.some((l) => l.includes('booting'))).toBe(false);
        expect(server.requests).toEqual(['GET /data']);
      } finally {
        await server.close();
      }
    },
    BOOTS_MS,
  );

  it(
    'a failing step stops the build with its Dockerfile line and exit code',
    async () => {
      const { built } = await ours(
        `FROM ${base}\nCOPY Dockerfile /\nRUN echo about to fail && exit 3\nRUN echo never\n`,
      );
      await expect(built).rejects.toThrow(
        /^Dockerfile:3: RUN: "echo about to fail && exit 3" failed with exit code 3$/,
      );
    },
    BOOTS_MS,
  );
});
