// A mkfs.xfs prototype file (xfsprogs mkfs/proto.c; mkfs.xfs(8) "-p protofile") for a
// folder: the rootless way mkfs.xfs populates a new filesystem, the xfs peer of the bench.
// Per entry: name, a 6-character mode (type - b c d p l, setuid u, setgid g, 3 octal
// permission digits), uid, gid, then the source file / major minor / link target; a
// directory's entries follow it up to "$". The format has no sticky bit, sockets, hard
// links (each name becomes its own copy) or names with white space (left out).
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const TYPE = [
  [(s) => s.isFile(), '-'],
  [(s) => s.isDirectory(), 'd'],
  [(s) => s.isSymbolicLink(), 'l'],
  [(s) => s.isCharacterDevice(), 'c'],
  [(s) => s.isBlockDevice(), 'b'],
  [(s) => s.isFIFO(), 'p'],
];

function modeSpec(st) {
  const type = TYPE.find(([is]) => is(st))?.[1];
  if (!type) return null;
  return `${type}${st.mode & 0o4000 ? 'u' : '-'}${st.mode & 0o2000 ? 'g' : '-'}${(st.mode & 0o777).toString(8).padStart(3, '0')}`;
}

function extra(path, st) {
  if (st.isFile()) return ` ${path}`;
  if (st.isSymbolicLink()) return ` ${readlinkSync(path)}`;
  if (st.isCharacterDevice() || st.isBlockDevice())
    return ` ${Math.floor(st.rdev / 256) & 0xfff} ${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`;
  return '';
}

/** The protofile text for the tree under `root`; `skipped` counts what the format cannot say. */
export function xfsProto(root) {
  const lines = ['/dev/null', '0 0', `${modeSpec(lstatSync(root))} 0 0`];
  let skipped = 0;
  const visit = (dir, depth) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const spec = modeSpec(st);
      const more = spec ? extra(path, st) : '';
      const word = st.isFile() || st.isSymbolicLink() ? name + more.trim() : name;
      if (!spec || /\s/.test(word)) {
        skipped++;
        continue;
      }
      lines.push(`${' '.repeat(depth)}${name} ${spec} ${st.uid} ${st.gid}${more}`);
      if (st.isDirectory()) visit(path, depth + 1);
    }
    lines.push(`${' '.repeat(depth)}$`);
  };
  visit(root, 1);
  return { text: `${lines.join('\n')}\n`, skipped };
}
