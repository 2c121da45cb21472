// Image files that arrive as a folder (an OCI layout) or as one tar archive (`docker
// save`, oci-archive) read the same way: a path inside the bundle gives a region of a
// file on disk. Layers inside an archive are never copied out: they are read in place.
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join, posix, sep } from 'node:path';
import { ImageError } from '../../errors.js';
import { DEFAULT_LIMITS, formatBytes } from '../../limits.js';
import { ContentReader, fileContent } from '../../tree/content.js';
import { parseDocument } from '../shape.js';
import { readTar, type TarEntry } from '../tar.js';

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
  const reader = new ContentReader(fileContent(r.file, r.length, r.from), ImageError);
  try {
    return reader.read(0, r.length) ?? Buffer.alloc(0);
  } finally {
    reader.close();
  }
}

/** The bytes of path (at most `max`), or a one-line error saying which bundle lacks it. */
export function readFromBundle(b: Bundle, path: string, max: number): Buffer {
  const r = b.region(path);
  if (!r) throw new ImageError(`${b.where}: has no ${path}; is it really this kind of image archive?`);
  if (r.length > max)
    throw new ImageError(
      `${b.where}: ${path} is ${formatBytes(r.length)}, more than the ${formatBytes(max)} such a document may have; the image is malformed`,
    );
  return readRegion(r);
}

function clean(path: string): string | undefined {
  const p = posix.normalize(path.replace(/^\/+/, ''));
  return p.startsWith('..') ? undefined : p;
}

/**
 * The real path of `file` when it is a regular file inside `root` (a real path); a
 * symlink is followed only while it stays inside. Else undefined (absent) or an error.
 */
function fileInside(root: string, file: string, where: string, path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined;
  }
  if (!real.startsWith(root + sep))
    throw new ImageError(
      `${where}: ${path} leads outside the layout (a symlink); a layout's files must be inside it — copy the image again (skopeo copy, umoci)`,
    );
  const st = statSync(real);
  if (st.isDirectory()) return undefined;
  if (!st.isFile())
    throw new ImageError(`${where}: ${path} is not a regular file (a device, FIFO or socket); the layout is malformed`);
  return real;
}

export function dirBundle(dir: string): Bundle {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ImageError(`${dir}: not a folder; an OCI layout is a folder with oci-layout, index.json and blobs/`);
  const root = realpathSync(dir);
  return {
    where: dir,
    region(path) {
      const p = clean(path);
      if (p === undefined) return undefined;
      const file = fileInside(root, join(root, p), dir, p);
      return file === undefined ? undefined : { file, from: 0, length: statSync(file).size };
    },
  };
}

/** A tar archive's regular files by cleaned name; symlinks and hard links followed inside it. */
export function tarBundle(file: string): Bundle {
  if (!existsSync(file) || !statSync(file).isFile()) throw new ImageError(`${file}: no such archive file`);
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
        throw new ImageError(`${file}: ${path} is stored as a sparse file; re-create the archive without --sparse`);
      }
      return { file, from: piece.from, length: e.size };
    },
  };
}

/** A JSON document of the bundle, parsed (its shape is the caller's to check). */
export function readJson(b: Bundle, path: string, max = DEFAULT_LIMITS.maxManifestBytes): unknown {
  return parseDocument(readFromBundle(b, path, max), b.where, path);
}
