// A tar reader over an uncompressed tar file on disk. Headers are read one 512-byte
// block at a time; file data is never read: an entry's content is a list of regions of
// the tar file itself ({ file, from } pieces), one per data segment for sparse files, so
// holes stay holes. Formats: POSIX ustar and pax (IEEE Std 1003.1, "pax" utility,
// "ustar Interchange Format" and "pax Extended Header"), GNU tar's extensions (GNU tar
// manual, "Basic Tar Format", "GNU Extensions to the Archive Format", "Sparse Formats").
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type Content, fileContent, type Piece } from '../tree/content.js';
import type { Time } from '../tree/tree.js';
import { ImageError } from '../errors.js';
import { defineStruct } from '../struct.js';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** the path as stored (raw bytes, not cleaned) */
  name: Buffer;
  type: TarEntryType;
  /** permission and special bits (0o7777) */
  mode: number;
  uid: number;
  gid: number;
  mtime: Time;
  /** symlink target or hard link target (raw bytes); empty otherwise */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** the file's logical size (for sparse files: the expanded size) */
  size: number;
  /** from SCHILY.xattr.* pax records; values byte-exact */
  xattrs: Map<string, Uint8Array>;
  /** regular files: regions of the tar file; empty for everything else */
  content: Content;
  /** byte offset of the entry's own header in the archive (after any pax / GNU long-name headers) */
  offset: number;
}

const BLOCK = 512;

// Headers, declared as data (GNU tar manual "Basic Tar Format": struct posix_header,
// struct oldgnu_header, struct sparse, struct sparse_header). Text fields are NUL-padded
// bytes; numeric fields octal text (or GNU base-256), read by num().
/** POSIX ustar header (POSIX "ustar Interchange Format"; GNU tar manual "Standard") */
const USTAR = defineStruct('ustar header', BLOCK, {
  name: [0, 'bytes', 100],
  mode: [100, 'bytes', 8],
  uid: [108, 'bytes', 8],
  gid: [116, 'bytes', 8],
  size: [124, 'bytes', 12],
  mtime: [136, 'bytes', 12],
  chksum: [148, 'bytes', 8],
  typeflag: [156, 'u8'],
  linkname: [157, 'bytes', 100],
  magic: [257, 'bytes', 6],
  version: [263, 'bytes', 2],
  uname: [265, 'bytes', 32],
  gname: [297, 'bytes', 32],
  devmajor: [329, 'bytes', 8],
  devminor: [337, 'bytes', 8],
  prefix: [345, 'bytes', 155],
});
const F = USTAR.fields;
/** old GNU header (magic "ustar  \0"): the ustar prefix area holds times and the sparse map of type 'S' (GNU tar manual "Old GNU Format") */
const OLDGNU = defineStruct('old GNU header', BLOCK, {
  atime: [345, 'bytes', 12],
  ctime: [357, 'bytes', 12],
  offset: [369, 'bytes', 12],
  longnames: [381, 'bytes', 4],
  unused: [385, 'u8'],
  sparse: [386, 'bytes', 4 * 24], // 4 × struct sparse
  isextended: [482, 'u8'],
  realsize: [483, 'bytes', 12],
});
/** one sparse map slot: a data segment's offset and length */
const SPARSE = defineStruct('GNU sparse slot', 24, { offset: [0, 'bytes', 12], numbytes: [12, 'bytes', 12] });
/** a sparse extension block after an old GNU sparse header */
const SPARSE_EXT = defineStruct('GNU sparse extension', BLOCK, {
  sparse: [0, 'bytes', 21 * 24], // 21 × struct sparse
  isextended: [504, 'u8'],
});
/** the ustar magic (magic field, NUL-terminated) */
const USTAR_MAGIC = 'ustar\0';
/** typeflag of an old GNU sparse file */
const GNU_SPARSE = 'S';

type TextField = readonly [number, 'bytes', number];

/** Where an error is, for its message: built only when there is an error (most entries have none). */
type Where = () => string;

/** Whether the header's magic is the POSIX ustar one (compared as bytes, no string made). */
function isUstar(h: Buffer): boolean {
  const at = F.magic[0];
  for (let i = 0; i < USTAR_MAGIC.length; i++) if (h[at + i] !== USTAR_MAGIC.charCodeAt(i)) return false;
  return true;
}

function typeflagOf(h: Buffer): string {
  return String.fromCharCode(h[F.typeflag[0]]!);
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file (POSIX)
  S: 'file', // GNU old sparse
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  D: 'dir', // GNU dumpdir: a directory whose data lists its contents (skipped)
  '6': 'fifo',
};

/** Bytes of a NUL-terminated field. */
function field(h: Buffer, [at, , len]: TextField): Buffer {
  const f = h.subarray(at, at + len);
  const nul = f.indexOf(0);
  return Buffer.from(nul < 0 ? f : f.subarray(0, nul));
}

/** What every malformed archive throws: one line naming the layer, the entry and the field. */
export class TarError extends ImageError {}

export const U32_MAX = 2 ** 32 - 1;
const SAFE = Number.MAX_SAFE_INTEGER;

/** The range a numeric field must be in; out of it the entry is refused, never clamped. */
type Bounds = readonly [min: number, max: number];
const SIZE: Bounds = [0, SAFE];
/** ids and device numbers: 32 bits, what the widest writer (newc, ext4) holds */
const U32: Bounds = [0, U32_MAX];
const TIME: Bounds = [-SAFE, SAFE];

function outOfRange(where: string, what: string, v: bigint | number, [min, max]: Bounds): TarError {
  return new TarError(
    `${where}: ${what} ${v} is out of range (${min} to ${max}); the layer is corrupt or was made to break readers: rebuild it`,
  );
}

/**
 * A numeric field: octal digits (leading spaces/NULs, trailing space/NUL), or GNU
 * base-256 when the high bit of the first byte is set: the rest is a big-endian two's
 * complement number (GNU tar manual "Basic Tar Format", numeric fields). Values outside
 * `bounds` are refused: a negative size would step the reader backwards forever.
 */
function num(h: Buffer, [at, , len]: TextField, what: string, where: Where, bounds: Bounds = SIZE): number {
  const f = h.subarray(at, at + len);
  if (f[0]! & 0x80) {
    const negative = (f[0]! & 0x40) !== 0;
    let v = 0n;
    for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(i === 0 ? f[i]! & 0x7f : f[i]!);
    if (negative) v -= 1n << BigInt(f.length * 8 - 1);
    if (v < BigInt(bounds[0]) || v > BigInt(bounds[1])) throw outOfRange(where(), what, v, bounds);
    return Number(v);
  }
  const fast = octal(f);
  if (fast !== undefined) {
    if (fast < bounds[0] || fast > bounds[1]) throw outOfRange(where(), what, fast, bounds);
    return fast;
  }
  const s = f
    .toString('latin1')
    .replace(/^[ \0]+/, '')
    .replace(/[ \0].*$/s, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s))
    throw new TarError(`${where()}: ${what} field is not octal: ${JSON.stringify(f.toString('latin1'))}`);
  const v = parseInt(s, 8);
  if (v < bounds[0] || v > bounds[1]) throw outOfRange(where(), what, v, bounds);
  return v;
}

/**
 * The common form of an octal field, without strings: leading spaces/NULs, octal digits,
 * then a space/NUL (or the end) and anything. Undefined for any other byte before that
 * end, which num's text path then refuses with its message.
 */
function octal(f: Buffer): number | undefined {
  let i = 0;
  while (i < f.length && (f[i] === 0x20 || f[i] === 0)) i++;
  let v = 0;
  for (; i < f.length; i++) {
    const c = f[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) return undefined;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** A pax decimal value (size, uid, gid, sparse map numbers): a non-negative integer within bounds. */
function decimal(v: Buffer, key: string, where: Where, bounds: Bounds = SIZE): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s)))
    throw new TarError(`${where()}: pax ${key}=${JSON.stringify(s.slice(0, 40))} is not a valid number`);
  if (Number(s) > bounds[1]) throw outOfRange(where(), `pax ${key}`, Number(s), bounds);
  return Number(s);
}

/** A pax time "[-]sec[.frac]" (POSIX pax, "pax Extended Header": mtime), normalised to 0 <= nsec < 1e9. */
function paxTime(v: Buffer, where: Where): Time {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(v.toString('latin1'));
  if (!m) throw new TarError(`${where()}: pax mtime=${JSON.stringify(v.toString('latin1'))} is not a valid time`);
  let sec = Number(m[2]);
  if (!Number.isSafeInteger(sec)) throw outOfRange(where(), 'pax mtime', sec, TIME);
  let nsec = Number((m[3] ?? '').slice(0, 9).padEnd(9, '0'));
  if (m[1] === '-') {
    sec = -sec;
    if (nsec) {
      sec -= 1;
      nsec = 1e9 - nsec;
    }
  }
  return { sec, nsec };
}

/**
 * pax extended header records, as bytes: "<len> <key>=<value>\n", len counting the
 * whole record in bytes (POSIX pax, "pax Extended Header"). Keys may repeat (GNU sparse
 * 0.0 repeats offset/numbytes), so records are returned in order.
 */
export function parsePax(data: Buffer, where: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  let p = 0;
  while (p < data.length) {
    if (data[p] === 0) break; // NUL padding after the last record
    const sp = data.indexOf(0x20, p);
    const lenText = sp < 0 ? '' : data.subarray(p, sp).toString('latin1');
    const len = Number(lenText);
    if (!/^[0-9]+$/.test(lenText) || len < 5 || p + len > data.length || data[p + len - 1] !== 0x0a) {
      throw new TarError(`${where}: malformed pax record at byte ${p} of the extended header`);
    }
    const rec = data.subarray(sp + 1, p + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new TarError(`${where}: pax record at byte ${p} of the extended header has no key=value`);
    out.push([rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1))]);
    p += len;
  }
  return out;
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

// pax and GNU long-name headers hold at most 1 MiB, as Go's archive/tar reads them
// (reader.go, maxSpecialFileSize): a bigger one is not a real archive's
const MAX_META = 1 << 20;
// a GNU sparse 1.0 map line is a decimal number: 16 digits hold any safe integer
const MAX_MAP_LINE = 20;

/**
 * Bytes read ahead from a header: the headers of small files lie close together, so one
 * read serves several of them (one system call per 512-byte header was most of the time
 * of reading a layer of small files); file data past the window is never read.
 */
const WINDOW = 16 << 10;

/** The tar file, read by position: every short read is a truncated-archive error. */
class TarFile {
  readonly size: number;
  private fd: number;
  /** the bytes [windowAt, windowAt + windowLength) of the file, in one buffer reused for every read */
  private window = Buffer.allocUnsafeSlow(WINDOW);
  private windowAt = 0;
  private windowLength = 0;

  constructor(
    readonly path: string,
    readonly label: string,
  ) {
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The 512-byte block at `at`, as a view of the window: valid until the next read of this file. */
  block(at: number, what: string): Buffer {
    this.need(at, BLOCK, what);
    if (at < this.windowAt || at + BLOCK > this.windowAt + this.windowLength) this.fill(at);
    return this.window.subarray(at - this.windowAt, at - this.windowAt + BLOCK);
  }

  /** A new buffer of the bytes [at, at + len) (the caller may keep it). */
  bytes(at: number, len: number, what: string): Buffer {
    this.need(at, len, what);
    const out = Buffer.allocUnsafeSlow(len);
    if (len > WINDOW) {
      this.readAt(out, at);
      return out;
    }
    if (at < this.windowAt || at + len > this.windowAt + this.windowLength) this.fill(at);
    this.window.copy(out, 0, at - this.windowAt, at - this.windowAt + len);
    return out;
  }

  private need(at: number, len: number, what: string): void {
    if (at + len > this.size)
      throw new TarError(
        `${this.label}: truncated archive: ${what} at byte ${at} needs ${len} bytes, the layer ends at byte ${this.size}`,
      );
  }

  /** Moves the window to start at `at`. */
  private fill(at: number): void {
    this.windowLength = 0; // a failed read leaves no stale window behind
    const n = Math.min(WINDOW, this.size - at);
    this.readAt(this.window.subarray(0, n), at);
    this.windowAt = at;
    this.windowLength = n;
  }

  private readAt(buf: Buffer, at: number): void {
    for (let o = 0; o < buf.length;) {
      const n = readSync(this.fd, buf, o, buf.length - o, at + o);
      if (n === 0) throw new TarError(`${this.path}: ends before byte ${this.size} (file changed while building?)`);
      o += n;
    }
  }
}

/**
 * The header checksum: the sum of its bytes with the chksum field as spaces (POSIX
 * ustar); some old tars summed signed bytes, accepted too.
 */
function checkChecksum(h: Buffer, where: Where): void {
  const stored = num(h, F.chksum, 'checksum', where);
  // one pass over the block; then the chksum field's bytes taken out and counted as spaces
  let unsigned = 0;
  let high = 0; // bytes > 127, each 256 less in the signed sum
  for (let i = 0; i < BLOCK; i++) {
    const b = h[i]!;
    unsigned += b;
    high += b >> 7;
  }
  const [from, , len] = F.chksum;
  for (let i = from; i < from + len; i++) {
    const b = h[i]!;
    unsigned += 0x20 - b;
    high -= b >> 7;
  }
  const signed = unsigned - 256 * high;
  if (stored !== unsigned && stored !== signed) {
    throw new TarError(
      `${where()}: bad header checksum (stored ${stored.toString(8)}, computed ${unsigned.toString(8)}): not a tar archive, or corrupt`,
    );
  }
}

/** What meta headers ('x', 'L', 'K') said about the next entry. */
interface Pending {
  local: Array<[string, Buffer]>;
  longName?: Buffer;
  longLink?: Buffer;
}

/** typeflags of headers that describe the next entry (pax 'x', GNU 'L'/'K') or all later ones (pax 'g') */
const META_TYPES = new Set(['x', 'g', 'L', 'K']);

/** The one accumulator of meta headers: pax global records, and what applies to the next entry. */
class MetaHeaders {
  private global = new Map<string, Buffer>(); // from 'g' headers: apply to every later entry
  private pending: Pending = { local: [] };

  get isPending(): boolean {
    const p = this.pending;
    return p.local.length > 0 || p.longName !== undefined || p.longLink !== undefined;
  }

  /** Takes in a meta header's data: 'x' for the next entry, 'g' for all later ones, GNU 'L'/'K' names. */
  take(typeflag: string, data: Buffer, where: string): void {
    if (typeflag === 'x') this.pending.local = this.pending.local.concat(parsePax(data, where));
    else if (typeflag === 'g') {
      for (const [k, v] of parsePax(data, where)) {
        if (v.length) this.global.set(k, v);
        else this.global.delete(k);
      }
    } else {
      const nul = data.indexOf(0);
      const name = nul < 0 ? data : data.subarray(0, nul);
      if (typeflag === 'L') this.pending.longName = name;
      else this.pending.longLink = name;
    }
  }

  /** What applies to the entry that follows, and a fresh start for the one after it. */
  forEntry(): { pax: Pax; pending: Pending } {
    const pending = this.pending;
    this.pending = { local: [] };
    return { pax: paxRecords(this.global, pending.local), pending };
  }
}

/** Reads the tar file at path, one entry at a time; `label` (e.g. the layer) names it in errors. */
export function* readTar(path: string, label = path): Generator<TarEntry> {
  const tar = new TarFile(path, label);
  try {
    const meta = new MetaHeaders();
    for (let pos: number | undefined = 0; pos !== undefined;) {
      const step = readHeader(tar, pos, meta);
      if (step?.entry) yield step.entry;
      pos = step?.next;
    }
  } finally {
    tar.close();
  }
}

/**
 * The header at pos: an entry, or a meta header taken into `meta`, or a skipped volume
 * label; and where the next header is. Undefined at the end of the archive.
 */
function readHeader(tar: TarFile, pos: number, meta: MetaHeaders): { entry?: TarEntry; next: number } | undefined {
  if (pos === tar.size && !meta.isPending) return undefined; // no end-of-archive blocks: accepted
  const h = tar.block(pos, 'header'); // a view: read what is needed before the next read of tar
  const where = () => `${tar.label}: entry at byte ${pos}`;
  if (allZero(h)) {
    // end of archive: two zero blocks (POSIX); a single one before end of file is accepted
    if (meta.isPending) throw new TarError(`${where()}: archive ends after an extended header, before its entry`);
    return undefined;
  }
  checkChecksum(h, where);
  const typeflag = typeflagOf(h);
  // octal: always in SIZE's range
  const size =
    octal(h.subarray(F.size[0], F.size[0] + F.size[2])) ??
    num(
      h,
      F.size,
      'size',
      () => `${tar.label}: entry ${JSON.stringify(field(h, F.name).toString('utf8'))} at byte ${pos}`,
    );
  const next = pos + BLOCK + padded(size);
  if (META_TYPES.has(typeflag)) {
    if (size > MAX_META)
      throw new TarError(
        `${where()}: a ${typeflag} header of ${size} bytes (at most ${MAX_META} are read); the layer is corrupt or hostile`,
      );
    meta.take(typeflag, tar.bytes(pos + BLOCK, size, `${typeflag} header data`), where());
    return { next };
  }
  if (typeflag === 'V') return { next }; // GNU volume label: not a file
  if (typeflag === 'M' || typeflag === 'N')
    throw new TarError(`${where()}: GNU multi-volume / old long-name entries (type ${typeflag}) are not supported`);
  const { pax, pending } = meta.forEntry();
  return readEntry(tar, h, pos, pax, pending);
}

interface Pax {
  /** global records, then local ones (later wins; an empty value removes the key) */
  map: Map<string, Buffer>;
  /** GNU sparse 0.0's repeated offset/numbytes records, in order */
  sparse00: Array<[string, Buffer]>;
}

/** The link name of an entry that is no link, and the content of one that is no file: shared, never changed. */
const NO_BYTES = Buffer.alloc(0);
const NO_CONTENT: Content = Object.freeze({ size: 0, pieces: Object.freeze([]) as unknown as Piece[] });

/** The records of an entry no pax header speaks of (most entries): shared, never changed. */
const NO_PAX: Pax = { map: new Map(), sparse00: [] };

function paxRecords(global: Map<string, Buffer>, local: Array<[string, Buffer]>): Pax {
  if (!global.size && !local.length) return NO_PAX;
  const map = new Map<string, Buffer>(global);
  const sparse00: Array<[string, Buffer]> = [];
  for (const [k, v] of local) {
    if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') sparse00.push([k, v]);
    if (v.length) map.set(k, v);
    else map.delete(k);
  }
  return { map, sparse00 };
}

/** A pax path-like record (path, linkpath, GNU.sparse.name): a NUL in it is refused, as no filesystem holds one. */
function paxPath(pax: Pax, key: string, where: Where): Buffer | undefined {
  const v = pax.map.get(key);
  if (v && v.includes(0))
    throw new TarError(
      `${where()}: pax ${key} contains a NUL byte, which no file name can hold; the layer is corrupt or hostile`,
    );
  return v;
}

function allZero(h: Buffer): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

/** The entry whose (non-meta) header is h at pos, and where the next header is. */
function readEntry(
  tar: TarFile,
  view: Buffer,
  pos: number,
  pax: Pax,
  pending: Pending,
): { entry: TarEntry; next: number } {
  const where = () => `${tar.label}: entry at byte ${pos}`;
  const typeflag = typeflagOf(view);
  // the sparse formats that read blocks after the header move the window the header is a view of
  const h = typeflag === GNU_SPARSE || pax.map.has('GNU.sparse.major') ? Buffer.from(view) : view;
  const ustar = isUstar(h);
  let name = field(h, F.name);
  if (ustar && h[F.prefix[0]] !== 0) name = Buffer.concat([field(h, F.prefix), Buffer.from('/'), name]);
  name = paxPath(pax, 'GNU.sparse.name', where) ?? paxPath(pax, 'path', where) ?? pending.longName ?? name;
  const at = () => `${tar.label}: entry ${JSON.stringify(name.toString('utf8'))} at byte ${pos}`;

  let type = TYPES[typeflag] ?? 'file'; // POSIX: an unknown typeflag reads as a regular file
  if (type === 'file' && (typeflag === '0' || typeflag === '\0') && name[name.length - 1] === 0x2f) type = 'dir'; // old tar: dir by trailing slash
  const link = type === 'symlink' || type === 'hardlink';
  const linkname = link ? (paxPath(pax, 'linkpath', where) ?? pending.longLink ?? field(h, F.linkname)) : NO_BYTES;

  const dataSize = pax.map.has('size') ? decimal(pax.map.get('size')!, 'size', at) : num(h, F.size, 'size', at);
  const xattrs = new Map<string, Uint8Array>();
  if (pax !== NO_PAX)
    for (const [k, v] of pax.map)
      if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), new Uint8Array(v));

  const { content, dataPos } =
    type === 'file' ? fileData(tar, h, pos + BLOCK, dataSize, pax, at) : { content: NO_CONTENT, dataPos: pos + BLOCK };
  if (dataPos + dataSize > tar.size)
    throw new TarError(
      `${at()}: truncated archive: data needs bytes up to ${dataPos + dataSize}, the layer ends at byte ${tar.size}`,
    );

  const dev = type === 'char' || type === 'block';
  const entry: TarEntry = {
    name,
    type,
    mode: num(h, F.mode, 'mode', at) & 0o7777,
    uid: pax.map.has('uid') ? decimal(pax.map.get('uid')!, 'uid', at, U32) : num(h, F.uid, 'uid', at, U32),
    gid: pax.map.has('gid') ? decimal(pax.map.get('gid')!, 'gid', at, U32) : num(h, F.gid, 'gid', at, U32),
    mtime: pax.map.has('mtime')
      ? paxTime(pax.map.get('mtime')!, at)
      : { sec: num(h, F.mtime, 'mtime', at, TIME), nsec: 0 },
    linkname,
    devmajor: dev ? num(h, F.devmajor, 'devmajor', at, U32) : 0,
    devminor: dev ? num(h, F.devminor, 'devminor', at, U32) : 0,
    size: content.size,
    xattrs,
    content,
    offset: pos,
  };
  return { entry, next: dataPos + padded(dataSize) };
}

/** A regular file's content, sparse or not, and where its stored data starts. */
function fileData(
  tar: TarFile,
  h: Buffer,
  dataAt: number,
  dataSize: number,
  pax: Pax,
  at: Where,
): { content: Content; dataPos: number } {
  if (typeflagOf(h) === GNU_SPARSE) return oldGnuSparse(tar, h, dataAt, dataSize, at);
  if (pax.map.get('GNU.sparse.major')?.toString() === '1')
    return { content: pax10Sparse(tar, pax, dataAt, dataSize, at), dataPos: dataAt };
  if (pax.map.has('GNU.sparse.map')) return { content: pax01Sparse(tar, pax, dataAt, dataSize, at), dataPos: dataAt };
  if (pax.map.has('GNU.sparse.numblocks'))
    return { content: pax00Sparse(tar, pax, dataAt, dataSize, at), dataPos: dataAt };
  return {
    content: fileContent(tar.path, dataSize, dataAt), // a FileRegion: one region of the tar
    dataPos: dataAt,
  };
}

/** pax sparse 0.x: the expanded size. */
function pax0RealSize(pax: Pax, at: Where): number {
  return decimal(
    pax.map.get('GNU.sparse.size') ?? pax.map.get('GNU.sparse.realsize') ?? Buffer.from('x'),
    'GNU.sparse.size',
    at,
  );
}

/** pax sparse 0.1: the map in one record, "GNU.sparse.map=offset,size,..."; the data holds the segments. */
function pax01Sparse(tar: TarFile, pax: Pax, dataAt: number, dataSize: number, at: Where): Content {
  const real = pax0RealSize(pax, at);
  const text = pax.map.get('GNU.sparse.map')!.toString('latin1');
  const map = text
    .split(',')
    .filter((s) => s !== '')
    .map((s) => decimal(Buffer.from(s), 'GNU.sparse.map', at));
  return mapPieces(tar.path, map, dataAt, dataAt + dataSize, real, at);
}

/** pax sparse 0.0: the map as repeated GNU.sparse.offset / GNU.sparse.numbytes records. */
function pax00Sparse(tar: TarFile, pax: Pax, dataAt: number, dataSize: number, at: Where): Content {
  const real = pax0RealSize(pax, at);
  const map = pax.sparse00.map(([k, v]) => decimal(v, k, at));
  return mapPieces(tar.path, map, dataAt, dataAt + dataSize, real, at);
}

/** Content from a sparse map (offset, length pairs): the stored data is the segments back to back in [from, limit). */
function mapPieces(file: string, map: number[], from: number, limit: number, real: number, at: Where): Content {
  const pieces: Piece[] = [];
  let src = from;
  let end = 0;
  for (let i = 0; i + 1 < map.length; i += 2) {
    const off = map[i]!;
    const len = map[i + 1]!;
    if (off < end || off + len > real)
      throw new TarError(`${at()}: sparse map segment ${off}+${len} is out of order or past the size ${real}`);
    if (len) pieces.push({ at: off, length: len, file, from: src });
    src += len;
    end = off + len;
  }
  if (src > limit)
    throw new TarError(`${at()}: sparse map describes ${src - from} bytes of data, ${limit - from} are stored`);
  return { size: real, pieces };
}

/** A slot's field at `base` in its block. */
function shift([at, , len]: TextField, base: number): TextField {
  return [base + at, 'bytes', len];
}

/** Old GNU sparse (type 'S'): the map in the header, continued in extension blocks after it. */
function oldGnuSparse(
  tar: TarFile,
  h: Buffer,
  dataAt: number,
  dataSize: number,
  at: Where,
): { content: Content; dataPos: number } {
  const map: number[] = [];
  const read = (b: Buffer, [base, , len]: TextField) => {
    for (let o = base; o < base + len; o += SPARSE.size) {
      const slot = SPARSE.fields;
      if (b[o + slot.offset[0]] === 0) continue; // unused slot
      map.push(
        num(b, shift(slot.offset, o), 'sparse offset', at),
        num(b, shift(slot.numbytes, o), 'sparse numbytes', at),
      );
    }
  };
  read(h, OLDGNU.fields.sparse);
  let dataPos = dataAt;
  for (let more = h[OLDGNU.fields.isextended[0]] !== 0; more; dataPos += BLOCK) {
    const ext = tar.block(dataPos, `sparse extension header of ${at()}`);
    read(ext, SPARSE_EXT.fields.sparse);
    more = ext[SPARSE_EXT.fields.isextended[0]] !== 0;
  }
  const real = num(h, OLDGNU.fields.realsize, 'realsize', at);
  return { content: mapPieces(tar.path, map, dataPos, dataPos + dataSize, real, at), dataPos };
}

/**
 * pax sparse 1.0: a decimal map "count\n(offset\nsize\n)*" at the start of the data,
 * padded to a block; then the segments.
 */
function pax10Sparse(tar: TarFile, pax: Pax, dataAt: number, dataSize: number, at: Where): Content {
  if (pax.map.get('GNU.sparse.minor')?.toString() !== '0')
    throw new TarError(`${at()}: GNU sparse format 1.${pax.map.get('GNU.sparse.minor')} is not supported`);
  const real = decimal(pax.map.get('GNU.sparse.realsize') ?? Buffer.from('x'), 'GNU.sparse.realsize', at);
  const nums: number[] = [];
  let text = '';
  let mapEnd = dataAt;
  let count = -1;
  while (count < 0 || nums.length < 1 + 2 * count) {
    if (mapEnd >= dataAt + dataSize) throw new TarError(`${at()}: GNU sparse 1.0 map runs past the entry's data`);
    text += tar.block(mapEnd, `sparse map of ${at()}`).toString('latin1');
    mapEnd += BLOCK;
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const l of lines) nums.push(decimal(Buffer.from(l, 'latin1'), 'GNU sparse 1.0 map number', at));
    if (nums.length) count = nums[0]!;
    const done = count >= 0 && nums.length >= 1 + 2 * count;
    if (!done && text.length > MAX_MAP_LINE)
      throw new TarError(`${at()}: GNU sparse 1.0 map has a line longer than a number`);
  }
  return mapPieces(tar.path, nums.slice(1, 1 + 2 * count), mapEnd, dataAt + dataSize, real, at);
}
