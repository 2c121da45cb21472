// A RUN step's upper layer, as the build VM wrote it (busybox tar of `upper/` and
// `opaque.list`), turned into OCI layer entries (image-spec layer.md): overlayfs
// whiteouts — character devices 0/0 (kernel Documentation/filesystems/overlayfs.rst,
// "whiteouts and opaque directories") — become `.wh.<name>` entries, and each opaque
// folder gets a `.wh..wh..opq` entry after it. The tar is first copied out of the raw
// disk into the cache (`run/<sha256>.tar`), so that file content can point into it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readTar, type TarEntry } from '../oci/tar.js';
import { fileContent, readContent } from '../tree/content.js';

const BLOCK = 512;

/** Copies the tar at the start of the raw disk (up to its last entry) into dir; returns its path. */
export function keepTar(disk: string, dir: string): string {
  let end = 0;
  for (const e of readTar(disk)) end = Math.max(end, e.offset + BLOCK + (e.type === 'file' ? Math.ceil(e.size / BLOCK) * BLOCK : 0));
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${process.pid}.partial`);
  const hash = createHash('sha256');
  const dst = openSync(tmp, 'w');
  try {
    for (const chunk of readContent(fileContent(disk, end))) {
      hash.update(chunk);
      writeSync(dst, chunk);
    }
    writeSync(dst, Buffer.alloc(2 * BLOCK));
  } finally {
    closeSync(dst);
  }
  const path = join(dir, `${hash.digest('hex')}.tar`);
  if (!existsSync(path)) renameSync(tmp, path);
  return path;
}

const UPPER = 'upper/';

function renamed(e: TarEntry, name: string): TarEntry {
  return { ...e, name: Buffer.from(name, 'latin1') };
}

function marker(e: TarEntry, name: string): TarEntry {
  return { ...e, name: Buffer.from(name, 'latin1'), type: 'file', mode: 0, size: 0, linkname: Buffer.alloc(0), xattrs: new Map(), content: { size: 0, pieces: [] } };
}

/** The opaque folders, as "a/b" ("" for the root), from opaque.list ("./a/b" lines). */
function opaqueDirs(entries: TarEntry[]): Set<string> {
  const list = entries.find((e) => e.name.toString('latin1') === 'opaque.list');
  const text = list ? Buffer.concat([...readContent(list.content)].map((c) => Buffer.from(c))).toString('latin1') : '';
  return new Set(text.split('\n').filter(Boolean).map((l) => l.replace(/^\.\/?/, '')));
}

/** The layer's entries; `dropDev`: the stage had no /dev, so the VM's mount point is not part of it. */
export function stepLayer(entries: TarEntry[], dropDev: boolean): TarEntry[] {
  const opaque = opaqueDirs(entries);
  const out: TarEntry[] = [];
  for (const e of entries) {
    const raw = e.name.toString('latin1');
    if (!raw.startsWith(UPPER)) continue;
    const name = raw.slice(UPPER.length).replace(/\/$/, '');
    if (!name || (dropDev && (name === 'dev' || name.startsWith('dev/')))) continue;
    if (e.type === 'char' && e.devmajor === 0 && e.devminor === 0) {
      const slash = name.lastIndexOf('/');
      out.push(marker(e, `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`));
      continue;
    }
    const link = e.type === 'hardlink' ? { linkname: Buffer.from(e.linkname.toString('latin1').replace(/^upper\//, ''), 'latin1') } : {};
    out.push({ ...renamed(e, name), ...link });
    if (e.type === 'dir' && opaque.has(name)) out.push(marker(e, `${name}/.wh..wh..opq`));
  }
  if (opaque.has('')) out.unshift(marker(entries[0], '.wh..wh..opq'));
  return out;
}
