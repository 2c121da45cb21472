// A comparable description of a filesystem: from a folder on disk (as a real tool
// extracted it) or from our tree. Two equal snapshots mean the same paths, types,
// modes, owners, sizes, content, link targets, device numbers and hard-link groups.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { newDecodeDev, S_IALLUGO, typeOfMode } from '../../src/posix.js';
import { readContent } from '../../src/tree/content.js';
import type { Node, Tree } from '../../src/tree/tree.js';

export interface Entry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: string;
  mtime?: number;
  /** name → value as hex, when asked for */
  xattrs?: Record<string, string>;
  /** for names of one inode: all its names */
  links?: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function typeOf(mode: number): string {
  return typeOfMode(mode) ?? 'unknown';
}

function withLinks(entries: Entry[], ids: Map<string, string>): Entry[] {
  const groups = new Map<string, string[]>();
  for (const e of entries)
    if (ids.has(e.path)) groups.set(ids.get(e.path)!, [...(groups.get(ids.get(e.path)!) ?? []), e.path]);
  for (const e of entries) {
    const g = ids.has(e.path) ? groups.get(ids.get(e.path)!)! : [];
    if (g.length > 1) e.links = [...g].sort();
  }
  return entries.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

export interface SnapshotOptions {
  /** compare modification times of non-symlinks */
  mtimes?: boolean;
  /** compare xattrs (read from disk with getfattr) */
  xattrs?: boolean;
  skip?: (path: string) => boolean;
}

/** Every xattr below root, by path relative to it, read by getfattr (package attr). */
function diskXattrs(root: string): Map<string, Record<string, string>> {
  const out = execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    maxBuffer: 1 << 28,
  }).toString();
  const map = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    const file = /^# file: (.*)$/.exec(line);
    if (file) {
      current = {};
      map.set(file[1].slice(root.length + 1), current);
      continue;
    }
    const kv = /^([^=]+)=0x([0-9a-f]*)$/.exec(line);
    if (kv && current) current[kv[1]] = kv[2];
  }
  return map;
}

/** Snapshot of a folder as real tools left it. */
export function snapshotDir(root: string, opts: SnapshotOptions = {}): Entry[] {
  const xattrs = opts.xattrs ? diskXattrs(root) : undefined;
  const entries: Entry[] = [];
  const ids = new Map<string, string>();
  const slash = Buffer.from('/');
  const visit = (dirAbs: Buffer, rel: Buffer) => {
    for (const name of readdirSync(dirAbs, { encoding: 'buffer' })) {
      const relPath = rel.length ? Buffer.concat([rel, slash, name]) : name;
      const abs = Buffer.concat([dirAbs, slash, name]);
      const st = lstatSync(abs);
      const display = relPath.toString('utf8');
      if (opts.skip?.(display)) continue;
      const e: Entry = {
        path: display,
        type: typeOf(st.mode),
        mode: (st.mode & S_IALLUGO).toString(8),
        uid: st.uid,
        gid: st.gid,
      };
      if (e.type === 'file') {
        e.size = st.size;
        e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
        ids.set(display, String(st.ino));
      }
      if (e.type === 'symlink') e.target = hex(readlinkSync(abs, { encoding: 'buffer' }));
      if (e.type === 'char' || e.type === 'block') {
        const { major, minor } = newDecodeDev(st.rdev);
        e.rdev = `${major}:${minor}`;
      }
      if (opts.mtimes && e.type !== 'symlink') e.mtime = Math.floor(st.mtimeMs / 1000);
      const x = xattrs?.get(display);
      if (x && Object.keys(x).length) e.xattrs = x;
      entries.push(e);
      if (e.type === 'dir') visit(abs, relPath);
    }
  };
  visit(Buffer.from(root), Buffer.alloc(0));
  return withLinks(entries, ids);
}

/** Snapshot of our tree, in the same terms. */
export function snapshotTree(tree: Tree, opts: SnapshotOptions = {}): Entry[] {
  const entries: Entry[] = [];
  const ids = new Map<string, string>();
  const nodeIds = new Map<Node, string>();
  for (const { path, node } of tree.walk()) {
    const display = path.toString('utf8');
    if (opts.skip?.(display)) continue;
    const e: Entry = { path: display, type: node.type, mode: node.mode.toString(8), uid: node.uid, gid: node.gid };
    if (node.type === 'file') {
      const h = createHash('sha256');
      for (const c of readContent(node.content!)) h.update(c);
      e.size = node.content!.size;
      e.sha256 = h.digest('hex');
      if (!nodeIds.has(node)) nodeIds.set(node, String(nodeIds.size));
      ids.set(display, nodeIds.get(node)!);
    }
    if (node.type === 'symlink') e.target = hex(node.target!);
    if (node.rdev) e.rdev = `${node.rdev.major}:${node.rdev.minor}`;
    if (opts.mtimes && node.type !== 'symlink') e.mtime = node.mtime.sec;
    if (opts.xattrs && node.xattrs.size)
      e.xattrs = Object.fromEntries([...node.xattrs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, hex(v)]));
    entries.push(e);
  }
  return withLinks(entries, ids);
}
