// User and group names of a stage, resolved through its own /etc/passwd and /etc/group
// (passwd(5), group(5)), for COPY/ADD --chown and the owner of WORKDIR folders. A name
// alone takes the user's primary group from /etc/passwd; a number alone is also the
// group (Dockerfile reference, COPY --chown: "a UID without GID will use the same
// numeric UID as the GID"; buildah does both).
import { readContent } from '../tree/content.js';
import type { Tree } from '../tree/tree.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** The colon-separated records of a file in the tree (following its symlinks); [] when absent. */
function records(tree: Tree, path: string): string[][] {
  const node = tree.get(tree.resolve(path, true).join('/'));
  if (node?.type !== 'file') return [];
  const text = Buffer.concat([...readContent(node.content)].map((c) => Buffer.from(c))).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const isId = (s: string) => /^\d+$/.test(s);

function lookupUser(tree: Tree, user: string): Owner | undefined {
  const rec = records(tree, '/etc/passwd').find((r) => (isId(user) ? r[2] === user : r[0] === user));
  return rec && isId(rec[2]) && isId(rec[3]) ? { uid: Number(rec[2]), gid: Number(rec[3]) } : undefined;
}

function lookupGroup(tree: Tree, group: string): number | undefined {
  if (isId(group)) return Number(group);
  const rec = records(tree, '/etc/group').find((r) => r[0] === group);
  return rec && isId(rec[2]) ? Number(rec[2]) : undefined;
}

/** "user[:group]" as numbers; throws a message naming the missing name and where it was looked for. */
export function resolveOwner(tree: Tree, spec: string): Owner {
  const [user, group] = spec.split(':', 2);
  if (!user) throw new Error(`"${spec}" names no user; write user[:group], e.g. 1000:1000 or app:app`);
  const found = lookupUser(tree, user);
  if (!found && !isId(user))
    throw new Error(`user "${user}" is not in the stage's /etc/passwd; use a numeric id or add the user first`);
  const uid = found?.uid ?? Number(user);
  // a name alone takes the user's primary group; a number alone the same number (as buildah)
  if (group === undefined || group === '') return { uid, gid: isId(user) ? uid : found!.gid };
  const gid = lookupGroup(tree, group);
  if (gid === undefined)
    throw new Error(`group "${group}" is not in the stage's /etc/group; use a numeric id or add the group first`);
  return { uid, gid };
}
