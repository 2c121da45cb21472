// Applies one OCI layer (its tar entries, oldest layer first) onto a Tree, with the
// semantics of the OCI image spec, layer.md ("Changesets", "Whiteouts", "Opaque
// Whiteout"), as containerd and umoci apply them:
// - names are cleaned ("./" and leading "/" stripped); a ".." component is an error;
//   parents are resolved through the tree's symlinks, clamped to the root (Tree.resolve),
//   so no entry lands outside the tree; the root entry only sets the root's metadata;
// - `.wh.NAME` removes NAME as it was in lower layers (what this layer itself put there
//   stays); `.wh..wh..opq` (exact name) hides every lower-layer child of its directory,
//   wherever it appears in the layer; other `.wh..wh.*` names are AUFS metadata and are
//   skipped; a bare `.wh.` or a whiteout of "." / ".." is an error;
// - a directory over a directory takes the new metadata (mode, owner, mtime, xattrs)
//   and keeps its children; anything else replaces what was there;
// - a hard link binds to the Node at its target (root-relative, may be absolute, may be
//   from a lower layer); a target not in the tree yet — missing, or further on in the
//   same layer — is an error, as it is for umoci unpack and GNU tar;
// - missing parents are created as root:root 0755 directories with mtime 0 (the epoch;
//   `opts.parentAttrs` overrides), so the result does not depend on the clock.
import type { TarEntry } from './tar.js';
import {
  type Attrs,
  copyXattrs,
  type DirNode,
  keyBytes,
  makeNode,
  type Node,
  type NodeData,
  type Tree,
} from '../tree/tree.js';

export interface ApplyOptions {
  /** attributes of parent directories the layer does not list; default root:root 0755, mtime 0 */
  parentAttrs?: Attrs;
  /** named in error messages, e.g. the layer's digest */
  layerName?: string;
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** An entry's name for an error message, built only when there is one. */
type What = () => string;

/** The keys of a tar name with "." and empty parts dropped; throws on "..". */
function cleanKeys(name: Buffer, what: What): string[] {
  const keys = name
    .toString('latin1')
    .split('/')
    .filter((k) => k !== '' && k !== '.');
  if (keys.includes('..'))
    throw new Error(
      `${what()}: the name has a ".." component, so it would land outside the root; the layer is malformed or malicious: rebuild the image without that entry`,
    );
  return keys;
}

const show = (keys: string[]) => '/' + keyBytes(keys.join('/')).toString('utf8');

export function applyLayer(tree: Tree, entries: Iterable<TarEntry>, opts: ApplyOptions = {}): void {
  const parentAttrs: Attrs = { mode: 0o755, uid: 0, gid: 0, mtime: { sec: 0, nsec: 0 }, ...opts.parentAttrs };
  const ours = new Ours(tree);
  for (const e of entries) {
    const what = () =>
      `${opts.layerName ? opts.layerName + ': ' : ''}entry ${JSON.stringify(e.name.toString('utf8'))} (at byte ${e.offset})`;
    const keys = cleanKeys(e.name, what);

    if (!keys.length) {
      // the root entry: only its metadata
      if (e.type !== 'dir') throw new Error(`${what()}: the root must be a directory, not a ${e.type}`);
      setMeta(tree.root, e);
      continue;
    }
    const base = keys.pop()!;
    const parent = resolveParent(tree, keys, what);
    const path = [...parent, base];

    if (base.startsWith(WH)) {
      applyWhiteout(tree, ours, parent, base, what);
      continue;
    }

    const dir = tree.getKeys(parent);
    let node: Node;
    if (e.type === 'hardlink') {
      node = linkTarget(tree, e, what);
    } else {
      const old = dir?.type === 'dir' ? dir.entries.get(base) : undefined;
      if (e.type === 'dir' && old?.type === 'dir') {
        setMeta(old, e);
        ours.mark(path, dir as DirNode);
        continue;
      }
      node = makeNode(e.type, {}, dataOf(e));
      setMeta(node, e);
    }
    let into: DirNode;
    try {
      // the parent as it is, or made (missing directories), or an error (a non-directory in the way)
      into = dir?.type === 'dir' ? dir : tree.mkdirpKeys(parent, parentAttrs);
    } catch (err) {
      throw new Error(`${what()}: cannot place it at ${show(path)}: ${(err as Error).message}`, { cause: err });
    }
    tree.replace(into, base, node);
    ours.mark(path, into);
  }
}

/**
 * A whiteout entry (base starts with .wh.) under the resolved parent: the opaque marker
 * prunes what lower layers put in the directory, any other hides one lower name.
 */
function applyWhiteout(tree: Tree, ours: Ours, parent: string[], base: string, what: What): void {
  const dir = tree.getKeys(parent);
  if (base === OPAQUE) {
    if (dir?.type === 'dir') ours.pruneLower(dir);
    return;
  }
  if (base.startsWith(WH + WH)) return; // AUFS metadata (.wh..wh.plnk, .wh..wh.aufs, ...)
  const hidden = base.slice(WH.length);
  if (hidden === '' || hidden === '.' || hidden === '..')
    throw new Error(`${what()}: invalid whiteout (it names ${hidden === '' ? 'nothing' : `"${hidden}"`})`);
  if (dir?.type !== 'dir') return;
  const node = dir.entries.get(hidden);
  if (!node) return;
  if (!ours.has(dir, hidden)) tree.remove(dir, hidden);
  else if (node.type === 'dir') ours.pruneLower(node);
}

/** The existing non-directory node a hard link entry names (lower layer or earlier in this one). */
function linkTarget(tree: Tree, e: TarEntry, what: What): Node {
  const tkeys = cleanKeys(
    e.linkname,
    () => `${what()}: hard link target ${JSON.stringify(e.linkname.toString('utf8'))}`,
  );
  const tbase = tkeys.pop();
  const target = tbase === undefined ? undefined : tree.getKeys([...resolveParent(tree, tkeys, what), tbase]);
  if (!target)
    throw new Error(
      `${what()}: hard link target ${JSON.stringify(e.linkname.toString('utf8'))} does not exist ` +
        'in a lower layer or earlier in this one; rebuild the layer with the target stored before its links',
    );
  if (target.type === 'dir')
    throw new Error(`${what()}: hard link target ${JSON.stringify(e.linkname.toString('utf8'))} is a directory`);
  return target;
}

/**
 * What this layer has put into the tree (with the directories above it): what its own
 * whiteouts and opaque markers must not remove. Kept per directory node as the set of
 * its child names this layer placed, so marking and asking cost one step per path
 * component.
 */
class Ours {
  private names = new Map<Node, Set<string>>();
  /** the parent directory of the last path marked whole: its ancestors are marked already */
  private lastParent: DirNode | undefined;

  constructor(private tree: Tree) {}

  /**
   * Marks the path (resolved keys) and every directory above it; `parent` is the
   * directory the path's last key is in. Marks are never taken back, so the next entry
   * in the same directory (a tar lists a directory's entries together) marks its own
   * name only.
   */
  mark(keys: string[], parent: DirNode): void {
    if (parent === this.lastParent) {
      this.names.get(parent)!.add(keys[keys.length - 1]!);
      return;
    }
    let dir: Node | undefined = this.tree.root;
    for (let i = 0; i < keys.length; i++) {
      if (dir?.type !== 'dir') return;
      let set = this.names.get(dir);
      if (!set) this.names.set(dir, (set = new Set()));
      set.add(keys[i]!);
      if (i === keys.length - 1 && dir === parent) this.lastParent = parent;
      dir = dir.entries.get(keys[i]!);
    }
  }

  has(dir: Node, name: string): boolean {
    return this.names.get(dir)?.has(name) ?? false;
  }

  /** Removes everything below dir that this layer did not put there (an explicit stack, no recursion). */
  pruneLower(top: DirNode): void {
    const todo = [top];
    for (let dir = todo.pop(); dir; dir = todo.pop()) {
      for (const [k, child] of [...dir.entries]) {
        if (!this.has(dir, k)) this.tree.remove(dir, k);
        else if (child.type === 'dir') todo.push(child);
      }
    }
  }
}

/** The canonical keys of a parent path; a symlink loop on the way is this entry's error. */
function resolveParent(tree: Tree, keys: string[], what: What): string[] {
  try {
    return tree.resolveKeys(keys, true);
  } catch (e) {
    throw new Error(
      `${what()}: its parent ${(e as Error).message}; the layers make a symlink loop: rebuild the image without it`,
      { cause: e },
    );
  }
}

/** What the node of a non-directory entry holds besides its attributes. */
function dataOf(e: TarEntry): NodeData {
  if (e.type === 'file') return { content: e.content };
  if (e.type === 'symlink') return { target: new Uint8Array(e.linkname) };
  if (e.type === 'char' || e.type === 'block') return { rdev: { major: e.devmajor, minor: e.devminor } };
  return {};
}

function setMeta(node: Node, e: TarEntry): void {
  node.mode = e.mode & 0o7777;
  node.uid = e.uid;
  node.gid = e.gid;
  node.mtime = { ...e.mtime };
  node.xattrs = copyXattrs(e.xattrs);
}
