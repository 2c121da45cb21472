// A RUN step's upper layer, as the build VM wrote it (GNU tar of `upper/`, pax, every
// xattr as SCHILY.xattr.*), turned into OCI layer entries (image-spec layer.md): overlayfs
// whiteouts — character devices 0/0 (kernel Documentation/filesystems/overlayfs.rst,
// "whiteouts and opaque directories") — become `.wh.<name>` entries, each folder with
// the xattr trusted.overlay.opaque = "y" gets a `.wh..wh..opq` entry after it, and
// overlayfs's own trusted.overlay.* xattrs are dropped; the rest (security.capability,
// user.*) are kept. With SOURCE_DATE_EPOCH set, times newer than it become it (BuildKit's
// rewrite-timestamp). The tar is first copied out of the raw disk into the cache
// (`run/<sha256>.tar`), so that file content can point into it.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readTar, type TarEntry } from '../oci/tar.js';
import { fileContent, readContent } from '../tree/content.js';
import type { Time } from '../tree/tree.js';

const BLOCK = 512;

/** Copies the tar at the start of the raw disk (up to its last entry) into dir; returns its path. */
export function keepTar(disk: string, dir: string): string {
  let end = 0;
  for (const e of readTar(disk))
    end = Math.max(end, e.offset + BLOCK + (e.type === 'file' ? Math.ceil(e.size / BLOCK) * BLOCK : 0));
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
  return {
    ...e,
    name: Buffer.from(name, 'latin1'),
    type: 'file',
    mode: 0,
    size: 0,
    linkname: Buffer.alloc(0),
    xattrs: new Map(),
    content: { size: 0, pieces: [] },
  };
}

/** overlayfs's private xattrs (overlayfs.rst: "trusted.overlay." prefix; opaque = "y") */
const OVERLAY_XATTR = 'trusted.overlay.';
const OPAQUE_XATTR = 'trusted.overlay.opaque';

function isOpaque(e: TarEntry): boolean {
  const v = e.xattrs.get(OPAQUE_XATTR);
  return e.type === 'dir' && v !== undefined && Buffer.from(v).toString('latin1') === 'y';
}

function ownXattrs(e: TarEntry): Map<string, Uint8Array> {
  return new Map([...e.xattrs].filter(([k]) => !k.startsWith(OVERLAY_XATTR)));
}

function clamped(t: Time, clamp: Time | undefined): Time {
  return clamp && (t.sec > clamp.sec || (t.sec === clamp.sec && t.nsec > clamp.nsec)) ? { ...clamp } : t;
}

export interface LayerOptions {
  /** the stage had no /dev, so the VM's mount point is not part of the layer */
  dropDev: boolean;
  /** SOURCE_DATE_EPOCH, when set */
  clamp?: Time;
}

/** The layer's entries. */
export function stepLayer(entries: TarEntry[], { dropDev, clamp }: LayerOptions): TarEntry[] {
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
    const link =
      e.type === 'hardlink'
        ? { linkname: Buffer.from(e.linkname.toString('latin1').replace(/^upper\//, ''), 'latin1') }
        : {};
    out.push({ ...renamed(e, name), ...link, xattrs: ownXattrs(e), mtime: clamped(e.mtime, clamp) });
    if (isOpaque(e)) out.push(marker(e, `${name}/.wh..wh..opq`));
  }
  return out;
}
