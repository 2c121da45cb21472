// COPY and ADD onto a stage's tree (Dockerfile reference, "COPY", "ADD"), as BuildKit
// and buildah do it:
// - sources are relative to the source's root (the context, or the root of a stage or
//   image for --from), ".." clamped at that root; wildcards (Go filepath.Match per path
//   component) match in byte order; a source that is a symlink is followed;
// - a folder source copies its contents, not the folder itself, into <dest>; anything
//   else lands at <dest>/<name> when <dest> ends with "/" or is a folder, else at <dest>;
//   several sources need a <dest> ending with "/";
// - a relative <dest> is below WORKDIR; missing folders of <dest> are made 0755, owned by
//   the --chown owner (root without it);
// - copied entries keep their mode and mtime; their owner is root for the context,
//   kept for --from, and the --chown owner when given; --chmod replaces the mode bits;
//   xattrs come along from stages and images (the context sends none); hard links
//   inside one source stay hard links (buildah copies each source on its own);
// - a folder landing on a folder merges into it, taking the copied folder's metadata.
import type { Time, Tree } from '../tree/tree.js';
import {
  copyXattrs,
  type DirNode,
  keyBytes,
  makeNode,
  NO_XATTRS,
  type Node,
  nodeData,
  sortedKeys,
} from '../tree/tree.js';
import { cleanPath, goMatch, hasWildcard } from './match.js';
import type { Owner } from './users.js';

export interface CopyOptions {
  /** where the sources are taken from */
  src: Tree;
  /** the context: owners become root, xattrs are dropped */
  fromContext: boolean;
  chown?: Owner;
  chmod?: number;
  /** mtime of folders the copy creates */
  epoch: Time;
}

export interface CopySource {
  /** the name it is copied under when <dest> is a folder */
  name: string;
  node: Node;
}

/** Entry keys of every path below root matching a source (with wildcards), in byte order. */
function matches(tree: Tree, source: string): string[][] {
  const parts = cleanPath(`/${source}`).split('/').filter(Boolean);
  let found: string[][] = [[]];
  for (const part of parts) found = found.flatMap((keys) => matchPart(tree, keys, part));
  return found;
}

/** The keys below `keys` one path component `part` names: itself, or with wildcards the matching entries in byte order. */
function matchPart(tree: Tree, keys: string[], part: string): string[][] {
  const real = tree.resolve(keyBytes(keys.join('/')), true);
  const dir = tree.get(keyBytes(real.join('/')));
  if (!hasWildcard(part)) return [[...keys, Buffer.from(part, 'utf8').toString('latin1')]];
  if (dir?.type !== 'dir') return [];
  const next: string[][] = [];
  for (const k of sortedKeys(dir)) if (goMatch(part, keyBytes(k).toString('utf8'))) next.push([...keys, k]);
  return next;
}

/** The nodes the sources name (symlinks followed); throws naming a source that matches nothing. */
export function resolveSources(tree: Tree, sources: string[], where: string): CopySource[] {
  const out: CopySource[] = [];
  for (const source of sources) {
    const found = matches(tree, source).flatMap((keys) => {
      const node = tree.get(keyBytes(tree.resolve(keyBytes(keys.join('/')), true).join('/')));
      return node ? [{ name: keys.length ? keys[keys.length - 1] : '', node }] : [];
    });
    if (!found.length)
      throw new Error(
        `"${source}" ${hasWildcard(source) ? 'matches nothing' : 'does not exist'} in ${where}; ` +
          'check the path (and .dockerignore)',
      );
    out.push(...found);
  }
  return out;
}

/** Makes the folder at the keys (resolved through dest's symlinks), missing parts owned by `owner`. */
export function mkdirDest(dest: Tree, path: string, owner: Owner | undefined, epoch: Time): DirNode {
  const keys = dest.resolve(path, true);
  return dest.mkdirp(keyBytes(keys.join('/')), {
    mode: 0o755,
    uid: owner?.uid ?? 0,
    gid: owner?.gid ?? 0,
    mtime: epoch,
  });
}

function setAttrs(node: Node, src: Node, o: CopyOptions): void {
  node.mode = o.chmod ?? src.mode;
  node.uid = o.chown?.uid ?? (o.fromContext ? 0 : src.uid);
  node.gid = o.chown?.gid ?? (o.fromContext ? 0 : src.gid);
  node.mtime = { ...src.mtime };
  node.xattrs = o.fromContext ? NO_XATTRS : copyXattrs(src.xattrs);
}

/** Copies src under name into dir: folders merge, anything else replaces. */
function copyEntry(tree: Tree, dir: DirNode, name: string, src: Node, o: CopyOptions, links: Map<Node, Node>): void {
  const old = dir.entries.get(name);
  if (src.type === 'dir') {
    const node = old?.type === 'dir' ? old : makeNode('dir');
    setAttrs(node, src, o);
    tree.replace(dir, name, node);
    copyChildren(tree, node, src, o, links);
    return;
  }
  let node = links.get(src);
  if (!node) {
    node = makeNode(src.type, {}, nodeData(src));
    setAttrs(node, src, o);
    links.set(src, node);
  }
  tree.replace(dir, name, node);
}

/** Copies the children of src (of any tree) into dir of tree. */
export function copyChildren(tree: Tree, dir: DirNode, src: DirNode, o: CopyOptions, links: Map<Node, Node>): void {
  for (const [k, child] of tree.children(src)) copyEntry(tree, dir, k, child, o, links);
}

/** Puts the sources at dest (absolute, trailing "/" kept) of the tree; several sources go into a folder. */
export function copyInto(tree: Tree, dest: string, sources: CopySource[], o: CopyOptions): void {
  const existing = tree.get(keyBytes(tree.resolve(dest, true).join('/')));
  const intoDir = dest.endsWith('/') || sources.length > 1 || existing?.type === 'dir';
  for (const s of sources) {
    // hard links are kept inside one source, not between sources (buildah)
    const links = new Map<Node, Node>();
    if (s.node.type === 'dir') {
      copyChildren(tree, mkdirDest(tree, dest, o.chown, o.epoch), s.node, o, links);
      continue;
    }
    const target = intoDir ? `${dest.replace(/\/+$/, '')}/${keyBytes(s.name).toString('utf8')}` : dest;
    const keys = tree.resolve(target);
    const name = keys.pop()!;
    const parent = mkdirDest(tree, `/${keyBytes(keys.join('/')).toString('utf8')}`, o.chown, o.epoch);
    copyEntry(tree, parent, name, s.node, o, links);
  }
}
