// The RUN step cache, as BuildKit keys its steps: by the parent state and the step's
// inputs. Here the parent state is a digest of the whole tree (every entry's path, type,
// mode, owner, time, xattrs, link target, device and content sha256; hard links by
// identity), and the inputs are the image config (ENV, USER, WORKDIR, SHELL…), the
// stage's ARGs, the argv and the network choice. A hit names the step's layer tar already
// in the cache (`run/<sha256>.tar`), so a rebuild with nothing changed boots no VM.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type Content, readContent } from '../tree/content.js';
import type { Node, Tree } from '../tree/tree.js';

const contentHashes = new WeakMap<Content, string>();

function contentHash(c: Content): string {
  let h = contentHashes.get(c);
  if (!h) {
    const hash = createHash('sha256');
    for (const b of readContent(c)) hash.update(b);
    h = hash.digest('hex');
    contentHashes.set(c, h);
  }
  return h;
}

function entryLine(path: string, n: Node, links: Map<Node, number>): string {
  const xattrs = [...n.xattrs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`);
  let link = links.get(n);
  if (link === undefined) links.set(n, (link = links.size));
  const what =
    n.type === 'file'
      ? contentHash(n.content)
      : n.type === 'symlink'
        ? Buffer.from(n.target).toString('hex')
        : n.type === 'char' || n.type === 'block'
          ? `${n.rdev.major}:${n.rdev.minor}`
          : '';
  return [
    path,
    n.type,
    n.mode,
    n.uid,
    n.gid,
    n.mtime.sec,
    n.mtime.nsec,
    xattrs.join(','),
    what,
    n.type === 'dir' ? '' : link,
  ].join('\0');
}

export function treeDigest(tree: Tree): string {
  const hash = createHash('sha256');
  const links = new Map<Node, number>();
  hash.update(entryLine('', tree.root, links));
  for (const { path, node } of tree.walk()) hash.update(`\n${entryLine(path.toString('latin1'), node, links)}`);
  return hash.digest('hex');
}

export function stepKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** The cached layer tar of a step, when there is one. */
export function cachedStep(dir: string, key: string): string | undefined {
  const index = join(dir, 'steps', key);
  if (!existsSync(index)) return undefined;
  const tar = join(dir, readFileSync(index, 'utf8').trim());
  return existsSync(tar) ? tar : undefined;
}

export function rememberStep(dir: string, key: string, tar: string): void {
  mkdirSync(join(dir, 'steps'), { recursive: true });
  const tmp = join(dir, 'steps', `.${key}.${process.pid}`);
  writeFileSync(tmp, `${basename(tar)}\n`);
  renameSync(tmp, join(dir, 'steps', key));
}
