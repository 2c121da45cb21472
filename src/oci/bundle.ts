// Image files that arrive as a folder (an OCI layout) or as one tar archive (`docker
// save`, oci-archive) read the same way: a path inside the bundle gives a region of a
// file on disk. Layers inside an archive are never copied out: they are read in place.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.js';
import { readTar, type TarEntry } from './tar.js';

/** A run of bytes of a file on disk. */
export interface Region {
  file: string;
  from: number;
  length: number;
}

export interface Bundle {
  /** what to call it in messages */
  where: string;
  /** the region holding the file at path (relative, "/"-separated); undefined when absent */
  region(path: string): Region | undefined;
}

export function readRegion(r: Region): Buffer {
  const buf = Buffer.alloc(r.length);
  const fd = openSync(r.file, 'r');
  try {
    for (let o = 0; o < r.length; ) {
      const n = readSync(fd, buf, o, r.length - o, r.from + o);
      if (n === 0) throw new BuildError(`${r.file}: ends before byte ${r.from + r.length}`);
      o += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}

/** The bytes of path, or a one-line error saying which bundle lacks it. */
export function readFromBundle(b: Bundle, path: string): Buffer {
  const r = b.region(path);
  if (!r) throw new BuildError(`${b.where}: has no ${path}; is it really this kind of image archive?`);
  return readRegion(r);
}

function clean(path: string): string | undefined {
  const p = posix.normalize(path.replace(/^\/+/, ''));
  return p.startsWith('..') ? undefined : p;
}

export function dirBundle(dir: string): Bundle {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BuildError(`${dir}: not a folder; an OCI layout is a folder with oci-layout, index.json and blobs/`);
  return {
    where: dir,
    region(path) {
      const p = clean(path);
      if (p === undefined) return undefined;
      const file = join(dir, p);
      if (!existsSync(file) || !statSync(file).isFile()) return undefined;
      return { file, from: 0, length: statSync(file).size };
    },
  };
}

/** A tar archive's regular files by cleaned name; symlinks and hard links followed inside it. */
export function tarBundle(file: string): Bundle {
  if (!existsSync(file) || !statSync(file).isFile()) throw new BuildError(`${file}: no such archive file`);
  const entries = new Map<string, TarEntry>();
  for (const e of readTar(file)) {
    const name = clean(e.name.toString('utf8'));
    if (name !== undefined) entries.set(name.replace(/\/$/, ''), e);
  }
  const find = (path: string, hops = 0): TarEntry | undefined => {
    const p = clean(path);
    const e = p === undefined ? undefined : entries.get(p);
    if (!e || hops > 20) return undefined;
    const link = e.linkname.toString('utf8');
    if (e.type === 'symlink') return find(link.startsWith('/') ? link : posix.join(posix.dirname(p!), link), hops + 1);
    if (e.type === 'hardlink') return find(link, hops + 1);
    return e.type === 'file' ? e : undefined;
  };
  return {
    where: file,
    region(path) {
      const e = find(path);
      if (!e) return undefined;
      const piece = e.content.pieces[0];
      if (!piece) return { file, from: 0, length: 0 };
      if (e.content.pieces.length > 1 || !('file' in piece) || piece.at !== 0 || piece.length !== e.size) {
        throw new BuildError(`${file}: ${path} is stored as a sparse file; re-create the archive without --sparse`);
      }
      return { file, from: piece.from, length: e.size };
    },
  };
}

export function readJson<T>(b: Bundle, path: string): T {
  const bytes = readFromBundle(b, path);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new BuildError(`${b.where}: ${path} is not valid JSON`);
  }
}

