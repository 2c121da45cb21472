// The build context as a tree: every file of the context folder that .dockerignore does
// not exclude (folders holding re-included files are kept), owned by root (as BuildKit
// and buildah send it), with its mode, nanosecond mtime, symlink targets, devices,
// fifos and hard links (same device and inode → one node). Content stays on disk
// (file references). Sockets are left out. `<Dockerfile>.dockerignore` beside the
// Dockerfile wins over the context's `.dockerignore`, as in BuildKit.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { newDecodeDev, S_IALLUGO } from '../posix.js';
import { fileContent } from '../tree/content.js';
import { type DirNode, makeNode, type Node, type NodeData, type NodeType, Tree } from '../tree/tree.js';
import { type IgnoreMatcher, parseDockerignore } from './match.js';

function typeOf(st: BigIntStats): NodeType | undefined {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined;
}

function nodeOf(abs: string, st: BigIntStats, type: 'dir'): DirNode;
function nodeOf(abs: string, st: BigIntStats, type: NodeType): Node;
function nodeOf(abs: string, st: BigIntStats, type: NodeType): Node {
  const mtime = { sec: Number(st.mtimeNs / 1_000_000_000n), nsec: Number(st.mtimeNs % 1_000_000_000n) };
  return makeNode(type, { mode: Number(st.mode) & S_IALLUGO, uid: 0, gid: 0, mtime }, dataOf(abs, st, type));
}

function dataOf(abs: string, st: BigIntStats, type: NodeType): NodeData {
  if (type === 'file') return { content: fileContent(abs, Number(st.size)) };
  if (type === 'symlink') return { target: new Uint8Array(readlinkSync(abs, { encoding: 'buffer' })) };
  if (type !== 'char' && type !== 'block') return {};
  return { rdev: newDecodeDev(Number(st.rdev)) };
}

/** The matcher of the context: Dockerfile.dockerignore beside the Dockerfile, else context/.dockerignore. */
export function contextIgnore(context: string, dockerfile?: string): IgnoreMatcher {
  for (const f of [dockerfile && `${dockerfile}.dockerignore`, join(context, '.dockerignore')]) {
    if (f && existsSync(f)) return parseDockerignore(readFileSync(f, 'utf8'));
  }
  return parseDockerignore('');
}

export function loadContext(context: string, ignore: IgnoreMatcher): Tree {
  let st: BigIntStats;
  try {
    st = lstatSync(context, { bigint: true });
  } catch {
    throw new UsageError(
      `build context ${context} does not exist; pass an existing folder with --context (or [source] context)`,
    );
  }
  if (!st.isDirectory()) throw new UsageError(`build context ${context} is not a folder; pass a folder with --context`);
  const root = nodeOf(context, st, 'dir');
  const tree = new Tree();
  Object.assign(tree.root, root);
  addChildren(tree, tree.root, context, '', ignore, new Map());
  return tree;
}

/** Adds the kept children of dir; returns whether anything was kept. */
function addChildren(
  tree: Tree,
  dir: DirNode,
  abs: string,
  rel: string,
  ignore: IgnoreMatcher,
  inodes: Map<string, Node>,
): boolean {
  let kept = false;
  for (const name of readdirSync(abs, { encoding: 'buffer' })) {
    const key = name.toString('latin1');
    const childAbs = join(abs, name.toString('utf8'));
    const childRel = rel ? `${rel}/${name.toString('utf8')}` : name.toString('utf8');
    const st = lstatSync(childAbs, { bigint: true });
    const type = typeOf(st);
    if (!type) continue;
    const excluded = ignore.excludes(childRel);
    if (type === 'dir') {
      if (excluded && !ignore.hasExceptions) continue;
      const node = nodeOf(childAbs, st, 'dir');
      if (addChildren(tree, node, childAbs, childRel, ignore, inodes) || !excluded) {
        tree.add(dir, key, node);
        kept = true;
      }
      continue;
    }
    if (excluded) continue;
    const id = `${st.dev}:${st.ino}`;
    const node = (st.nlink > 1n && inodes.get(id)) || nodeOf(childAbs, st, type);
    if (st.nlink > 1n) inodes.set(id, node);
    tree.add(dir, key, node);
    kept = true;
  }
  return kept;
}
