// RUN --mount (Dockerfile reference, "RUN --mount"; option names as BuildKit's
// dockerfile/instructions/commands_runmount.go): `type=bind` (a folder or file of the
// context, a stage or an image; read-only unless rw), `type=cache` (a folder kept across
// builds, here an ext4 disk in the cache: run/mounts/<sha256 of id>.img, shared between
// builds as its `sharing` says: src/dockerfile/cache-mounts.ts) and `type=tmpfs`.
// Each source becomes a virtio disk of the build VM (after lower, scratch and out: vdd,
// vde…), mounted by the step script and bind-mounted at the target inside the step's
// root; folders made only to hold a mount point are removed afterwards, as BuildKit
// removes its mount stubs, so the layer has only what the step wrote. `secret` and `ssh`
// are refused with one line.
import { posix } from 'node:path';
import { keyBytes, Tree } from '../tree/tree.js';

export interface StepMount {
  kind: 'bind' | 'cache' | 'tmpfs';
  /** absolute, normalized */
  target: string;
  readonly: boolean;
  /** bind: the source, as the root of a tree (a file source is the tree's entry "f") */
  source?: Tree;
  file?: boolean;
  /** cache: what it is keyed by, how builds share it, its root folder's mode and owner, and its disk */
  id?: string;
  sharing?: Sharing;
  root?: { mode: number; uid: number; gid: number };
  disk?: string;
  /** tmpfs: size in bytes */
  size?: number;
}

/** BuildKit's cache sharing modes (Dockerfile reference, RUN --mount=type=cache: "One of shared, private, or locked. Defaults to shared"). */
export type Sharing = 'shared' | 'private' | 'locked';
const SHARING: Sharing[] = ['shared', 'private', 'locked'];

const KEYS: Record<StepMount['kind'], string[]> = {
  bind: ['type', 'target', 'source', 'from', 'readonly', 'rw'],
  cache: ['type', 'target', 'id', 'readonly', 'rw', 'sharing', 'from', 'source', 'mode', 'uid', 'gid'],
  tmpfs: ['type', 'target', 'size'],
};

const ALIASES: Record<string, string> = {
  dst: 'target',
  destination: 'target',
  src: 'source',
  ro: 'readonly',
  readwrite: 'rw',
};

/** "type=bind,source=a,target=/b,ro" → its options (a bare key is "true"). */
export function mountOptions(value: string): Map<string, string> {
  const o = new Map<string, string>();
  for (const part of value.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    const key = (i < 0 ? part : part.slice(0, i)).toLowerCase();
    o.set(ALIASES[key] ?? key, i < 0 ? 'true' : part.slice(i + 1));
  }
  const type = o.get('type') ?? 'bind';
  if (type === 'secret' || type === 'ssh')
    throw new Error(
      `--mount=${value}: type=${type} is not supported by fledge-pure yet (bind, cache and tmpfs are); COPY what the step needs, or fetch it in the step`,
    );
  if (!(type in KEYS)) throw new Error(`--mount=${value}: unknown type "${type}"; use bind, cache or tmpfs`);
  o.set('type', type);
  const unknown = [...o.keys()].filter((k) => !KEYS[type as StepMount['kind']].includes(k));
  if (unknown.length)
    throw new Error(
      `--mount=${value}: type=${type} has no option ${unknown.join(', ')}; its options are ${KEYS[type as StepMount['kind']].join(', ')}`,
    );
  if (!o.get('target')) throw new Error(`--mount=${value}: give the mount point, target=/path`);
  return o;
}

const yes = (v: string | undefined) => v !== undefined && v !== 'false';

/** The stage's mount point, absolute (relative targets are below WORKDIR). */
export function mountTarget(target: string, workdir: string): string {
  const t = posix.normalize(posix.isAbsolute(target) ? target : posix.join(workdir || '/', target));
  if (t === '/') throw new Error('--mount target=/ would hide the whole root; mount below it');
  return t.replace(/\/$/, '');
}

/** A bind mount's source: the node at `path` in `tree` (a folder or a file), as a tree of its own. */
export function bindSource(tree: Tree, path: string, where: string): { source: Tree; file: boolean } {
  const keys = tree.resolve(path || '/', true);
  const node = keys.length ? tree.get(keyBytes(keys.join('/'))) : tree.root;
  if (!node) throw new Error(`--mount source=${path || '/'} does not exist in ${where}`);
  const source = new Tree({ mode: node.mode, uid: node.uid, gid: node.gid, mtime: node.mtime });
  if (node.type === 'dir') for (const [k, child] of node.entries) source.add(source.root, k, child);
  else if (node.type === 'file') source.add(source.root, 'f', node);
  else throw new Error(`--mount source=${path}: is a ${node.type}; bind a folder or a file`);
  return { source, file: node.type === 'file' };
}

export function mountFrom(o: Map<string, string>, workdir: string): Omit<StepMount, 'source' | 'file'> {
  const kind = o.get('type') as StepMount['kind'];
  const target = mountTarget(o.get('target')!, workdir);
  const readonly = kind === 'bind' ? !yes(o.get('rw')) : yes(o.get('readonly'));
  if (kind === 'cache' && (o.has('from') || o.has('source')))
    throw new Error(
      '--mount=type=cache with from/source (seeding a cache) is not supported by fledge-pure yet; remove them',
    );
  const size = o.get('size');
  if (size !== undefined && !/^\d+$/.test(size)) throw new Error(`--mount size=${size}: give the size in bytes`);
  const common = { kind, target, readonly, size: size === undefined ? undefined : Number(size) };
  return kind === 'cache' ? { ...common, ...cacheOptions(o, target) } : common;
}

/** A cache mount's id (default the target), sharing (default shared) and root folder (mode 0755, root:root). */
function cacheOptions(o: Map<string, string>, target: string): Pick<StepMount, 'id' | 'sharing' | 'root'> {
  const sharing = (o.get('sharing') ?? 'shared') as Sharing;
  if (!SHARING.includes(sharing))
    throw new Error(`--mount sharing=${sharing}: unknown sharing mode; use shared, private or locked`);
  const num = (k: string, d: number, base = 10) => (o.has(k) ? parseInt(o.get(k)!, base) : d);
  return {
    id: o.get('id') ?? target,
    sharing,
    root: { mode: num('mode', 0o755, 8), uid: num('uid', 0), gid: num('gid', 0) },
  };
}

/** The step cache key's part for the mounts: what each one shows the step (a cache's content is not part of it, as in BuildKit). */
export function mountKey(m: StepMount, digest: (t: Tree) => string): unknown {
  return {
    kind: m.kind,
    target: m.target,
    readonly: m.readonly,
    id: m.id,
    size: m.size,
    source: m.source ? digest(m.source) : undefined,
    file: m.file,
  };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The prefixes of target, shortest first: /a, /a/b, /a/b/c. */
function prefixes(target: string): string[] {
  const parts = target.split('/').filter(Boolean);
  return parts.map((_, i) => `/root/${parts.slice(0, i + 1).join('/')}`);
}

/** Shell lines (run in the helper, before the chroot) that mount m, the i-th mount, whose disk (if any) is dev. */
export function mountLines(m: StepMount, i: number, dev: string): string[] {
  const at = `/root${m.target}`;
  const fail = `|| { echo "RUN --mount: cannot mount ${m.target}" >&2; exit 125; }`;
  const stub = `k${i}=; for p in ${prefixes(m.target).map(q).join(' ')}; do [ -z "$k${i}" ] && [ ! -e "$p" ] && [ ! -L "$p" ] && k${i}=$p; done`;
  const point = m.file
    ? `mkdir -p ${q(posix.dirname(at))} && { [ -e ${q(at)} ] || touch ${q(at)}; }`
    : `mkdir -p ${q(at)}`;
  if (m.kind === 'tmpfs')
    return [stub, `${point} && mount -t tmpfs ${m.size ? `-o size=${m.size} ` : ''}tmpfs ${q(at)} ${fail}`];
  return [
    stub,
    `mkdir -p /mnt/m${i} && mount -t ext4 -o ${m.readonly ? 'ro' : 'rw'} /dev/${dev} /mnt/m${i} ${fail}`,
    `${point} && mount --bind /mnt/m${i}${m.file ? '/f' : ''} ${q(at)} ${fail}`,
  ];
}

/** Shell lines that undo mountLines after the step: unmount, then remove the stubs made for the mount point. */
export function unmountLines(m: StepMount, i: number): string[] {
  const rm = prefixes(m.target)
    .reverse()
    .map((p, j) => `${j === 0 && m.file ? 'rm -f' : 'rmdir'} ${q(p)} 2>/dev/null; [ ${q(p)} = "$k${i}" ] && break`);
  return [
    `umount ${q(`/root${m.target}`)}${m.kind === 'tmpfs' ? '' : ` && umount /mnt/m${i}`}`,
    `if [ -n "$k${i}" ]; then for _ in 1; do ${rm.join('; ')}; done; fi`,
  ];
}
