// A tar reader over an uncompressed tar file on disk. Headers are read one 512-byte
// block at a time; file data is never read: an entry's content is a list of regions of
// the tar file itself ({ file, from } pieces), one per data segment for sparse files, so
// holes stay holes. Formats: POSIX ustar and pax (IEEE Std 1003.1, "pax" utility,
// "ustar Interchange Format" and "pax Extended Header"), GNU tar's extensions (GNU tar
// manual, "Basic Tar Format", "GNU Extensions to the Archive Format", "Sparse Formats").
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Content, Piece } from '../tree/content.js';
import type { Time } from '../tree/tree.js';

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

// ustar header fields, [offset, length] (POSIX ustar; GNU tar manual "Standard")
const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;
// old GNU header (magic "ustar  \0"): the prefix area holds atime, ctime, offset,
// longnames, then the sparse map of type 'S' (GNU tar manual "Old GNU Format"):
// 4 × {offset 12, numbytes 12} at 386, isextended at 482, realsize at 483.
const OLDGNU_SPARSE = 386;
const OLDGNU_ISEXTENDED = 482;
const OLDGNU_REALSIZE = 483;
// a sparse extension block: 21 × {offset 12, numbytes 12}, isextended at 504
const EXT_SPARSE_COUNT = 21;
const EXT_ISEXTENDED = 504;

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
function field(h: Buffer, [at, len]: readonly [number, number]): Buffer {
  const f = h.subarray(at, at + len);
  const nul = f.indexOf(0);
  return Buffer.from(nul < 0 ? f : f.subarray(0, nul));
}

/**
 * A numeric field: octal digits (leading spaces/NULs, trailing space/NUL), or GNU
 * base-256 when the high bit of the first byte is set: the rest is a big-endian two's
 * complement number (GNU tar manual "Basic Tar Format", numeric fields).
 */
function num(h: Buffer, [at, len]: readonly [number, number], what: string, where: string): number {
  const f = h.subarray(at, at + len);
  if (f[0]! & 0x80) {
    const negative = (f[0]! & 0x40) !== 0;
    let v = 0n;
    for (let i = 0; i < f.length; i++) v = (v << 8n) | BigInt(i === 0 ? f[i]! & 0x7f : f[i]!);
    if (negative) v -= 1n << BigInt(f.length * 8 - 1);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`${where}: ${what} ${v} is too large`);
    }
    return Number(v);
  }
  const s = f.toString('latin1').replace(/^[ \0]+/, '').replace(/[ \0].*$/s, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`${where}: ${what} field is not octal: ${JSON.stringify(f.toString('latin1'))}`);
  return parseInt(s, 8);
}

/** A pax decimal value (size, uid, gid, sparse map numbers): non-negative integer. */
function decimal(v: Buffer, key: string, where: string): number {
  const s = v.toString('latin1');
  if (!/^[0-9]+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new Error(`${where}: pax ${key}=${JSON.stringify(s)} is not a valid number`);
  return Number(s);
}

/** A pax time "[-]sec[.frac]" (POSIX pax, "pax Extended Header": mtime), normalised to 0 <= nsec < 1e9. */
function paxTime(v: Buffer, where: string): Time {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(v.toString('latin1'));
  if (!m) throw new Error(`${where}: pax mtime=${JSON.stringify(v.toString('latin1'))} is not a valid time`);
  let sec = Number(m[2]);
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
      throw new Error(`${where}: malformed pax record at byte ${p} of the extended header`);
    }
    const rec = data.subarray(sp + 1, p + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw new Error(`${where}: pax record at byte ${p} of the extended header has no key=value`);
    out.push([rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1))]);
    p += len;
  }
  return out;
}

/** Reads the tar file at path, one entry at a time. */
export function* readTar(path: string): Generator<TarEntry> {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const block = (at: number, what: string): Buffer => {
      const b = Buffer.alloc(BLOCK);
      const n = at + BLOCK <= fileSize ? readSync(fd, b, 0, BLOCK, at) : 0;
      if (n !== BLOCK) throw new Error(`${path}: truncated archive: ${what} at byte ${at} ends at end of file (${fileSize} bytes)`);
      return b;
    };
    const bytes = (at: number, len: number, what: string): Buffer => {
      if (at + len > fileSize) throw new Error(`${path}: truncated archive: ${what} at byte ${at} needs ${len} bytes, file ends at ${fileSize}`);
      const b = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, b, got, len - got, at + got);
        if (n === 0) throw new Error(`${path}: truncated archive: ${what} at byte ${at} ends at byte ${at + got}`);
        got += n;
      }
      return b;
    };
    const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

    const global = new Map<string, Buffer>(); // from 'g' headers: apply to every later entry
    let local: Array<[string, Buffer]> = []; // from an 'x' header: apply to the next entry
    let longName: Buffer | undefined; // GNU 'L'
    let longLink: Buffer | undefined; // GNU 'K'
    let pos = 0;

    for (;;) {
      if (pos === fileSize && !local.length && !longName && !longLink) return; // no end-of-archive blocks: accepted
      const h = block(pos, 'header');
      const where = `${path}: entry at byte ${pos}`;
      if (h.every((b) => b === 0)) {
        // end of archive: two zero blocks (POSIX); a single one before end of file is accepted
        if (local.length || longName || longLink) throw new Error(`${where}: archive ends after an extended header, before its entry`);
        return;
      }
      // checksum: sum of the header bytes with the chksum field as spaces (POSIX ustar);
      // some old tars summed signed bytes, accepted too
      const stored = num(h, F.chksum, 'checksum', where);
      let unsigned = 0;
      let signed = 0;
      for (let i = 0; i < BLOCK; i++) {
        const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
        unsigned += b;
        signed += b > 127 ? b - 256 : b;
      }
      if (stored !== unsigned && stored !== signed) {
        throw new Error(`${where}: bad header checksum (stored ${stored.toString(8)}, computed ${unsigned.toString(8)}): not a tar archive, or corrupt`);
      }
      const typeflag = String.fromCharCode(h[156]!);
      const size = num(h, F.size, 'size', where);
      const dataAt = pos + BLOCK;

      // meta headers: their data describes the next entry
      if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
        const data = bytes(dataAt, size, `${typeflag} header data`);
        if (typeflag === 'x') local = local.concat(parsePax(data, where));
        else if (typeflag === 'g') {
          for (const [k, v] of parsePax(data, where)) v.length ? global.set(k, v) : global.delete(k);
        } else {
          const nul = data.indexOf(0);
          const name = nul < 0 ? data : data.subarray(0, nul);
          if (typeflag === 'L') longName = name;
          else longLink = name;
        }
        pos = dataAt + padded(size);
        continue;
      }
      if (typeflag === 'V') {
        // GNU volume label: not a file
        pos = dataAt + padded(size);
        continue;
      }
      if (typeflag === 'M' || typeflag === 'N') throw new Error(`${where}: GNU multi-volume / old long-name entries (type ${typeflag}) are not supported`);

      // pax records for this entry: global ones, then local ones (later wins; an empty
      // value removes the key, falling back to the header field)
      const pax = new Map<string, Buffer>(global);
      const sparse00: Array<[string, Buffer]> = [];
      for (const [k, v] of local) {
        if (k === 'GNU.sparse.offset' || k === 'GNU.sparse.numbytes') sparse00.push([k, v]);
        if (v.length) pax.set(k, v);
        else pax.delete(k);
      }

      const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
      let name = field(h, F.name);
      if (ustar && h[F.prefix[0]] !== 0) name = Buffer.concat([field(h, F.prefix), Buffer.from('/'), name]);
      if (longName) name = longName;
      name = pax.get('GNU.sparse.name') ?? pax.get('path') ?? name;
      const linkname = pax.get('linkpath') ?? longLink ?? field(h, F.linkname);
      const at = `${path}: entry ${JSON.stringify(name.toString('utf8'))} at byte ${pos}`;

      let type = TYPES[typeflag] ?? 'file'; // POSIX: an unknown typeflag reads as a regular file
      if (type === 'file' && (typeflag === '0' || typeflag === '\0') && name[name.length - 1] === 0x2f) type = 'dir'; // old tar: dir by trailing slash

      const dataSize = pax.has('size') ? decimal(pax.get('size')!, 'size', at) : size;
      const xattrs = new Map<string, Uint8Array>();
      for (const [k, v] of pax) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), new Uint8Array(v));

      let dataPos = dataAt; // where the stored data starts (old GNU sparse: after extension blocks)
      let content: Content = { size: 0, pieces: [] };
      const mapPieces = (map: number[], from: number, limit: number, real: number): Content => {
        // stored data = the map's segments concatenated, in order, in [from, limit)
        const pieces: Piece[] = [];
        let src = from;
        let end = 0;
        for (let i = 0; i + 1 < map.length; i += 2) {
          const off = map[i]!;
          const len = map[i + 1]!;
          if (off < end || off + len > real) throw new Error(`${at}: sparse map segment ${off}+${len} is out of order or past the size ${real}`);
          if (len) pieces.push({ at: off, length: len, file: path, from: src });
          src += len;
          end = off + len;
        }
        if (src > limit) throw new Error(`${at}: sparse map describes ${src - from} bytes of data, ${limit - from} are stored`);
        return { size: real, pieces };
      };

      if (type === 'file') {
        if (typeflag === 'S') {
          // old GNU sparse: map in the header, continued in extension blocks after it
          const map: number[] = [];
          const read = (b: Buffer, base: number, count: number) => {
            for (let i = 0; i < count; i++) {
              const o = base + i * 24;
              if (b[o] === 0) continue; // unused slot
              map.push(num(b, [o, 12], 'sparse offset', at), num(b, [o + 12, 12], 'sparse numbytes', at));
            }
          };
          read(h, OLDGNU_SPARSE, 4);
          let more = h[OLDGNU_ISEXTENDED] !== 0;
          while (more) {
            const ext = block(dataPos, `sparse extension header of ${at}`);
            read(ext, 0, EXT_SPARSE_COUNT);
            more = ext[EXT_ISEXTENDED] !== 0;
            dataPos += BLOCK;
          }
          content = mapPieces(map, dataPos, dataPos + dataSize, num(h, [OLDGNU_REALSIZE, 12], 'realsize', at));
        } else if (pax.get('GNU.sparse.major')?.toString() === '1') {
          // pax sparse 1.0: decimal map "count\n(offset\nsize\n)*" at the start of the data,
          // padded to a block; then the segments
          if (pax.get('GNU.sparse.minor')?.toString() !== '0') throw new Error(`${at}: GNU sparse format 1.${pax.get('GNU.sparse.minor')} is not supported`);
          const real = decimal(pax.get('GNU.sparse.realsize') ?? Buffer.from('x'), 'GNU.sparse.realsize', at);
          const nums: number[] = [];
          let text = '';
          let mapEnd = dataAt;
          let count = -1;
          while (count < 0 || nums.length < 1 + 2 * count) {
            if (mapEnd >= dataAt + dataSize) throw new Error(`${at}: GNU sparse 1.0 map runs past the entry's data`);
            text += block(mapEnd, `sparse map of ${at}`).toString('latin1');
            mapEnd += BLOCK;
            const lines = text.split('\n');
            text = lines.pop()!;
            for (const l of lines) nums.push(decimal(Buffer.from(l, 'latin1'), 'GNU sparse 1.0 map number', at));
            if (nums.length) count = nums[0]!;
          }
          content = mapPieces(nums.slice(1, 1 + 2 * count), mapEnd, dataAt + dataSize, real);
        } else if (pax.has('GNU.sparse.map') || pax.has('GNU.sparse.numblocks')) {
          // pax sparse 0.1: "GNU.sparse.map=off,size,..."; 0.0: repeated offset/numbytes records
          const real = decimal(pax.get('GNU.sparse.size') ?? pax.get('GNU.sparse.realsize') ?? Buffer.from('x'), 'GNU.sparse.size', at);
          const map = pax.has('GNU.sparse.map')
            ? pax.get('GNU.sparse.map')!.toString('latin1').split(',').filter((s) => s !== '').map((s) => decimal(Buffer.from(s), 'GNU.sparse.map', at))
            : sparse00.map(([k, v]) => decimal(v, k, at));
          content = mapPieces(map, dataAt, dataAt + dataSize, real);
        } else {
          content = { size: dataSize, pieces: dataSize ? [{ at: 0, length: dataSize, file: path, from: dataAt }] : [] };
        }
      }

      const dataEnd = dataPos + dataSize;
      if (dataEnd > fileSize) throw new Error(`${at}: truncated archive: data needs bytes up to ${dataEnd}, file ends at ${fileSize}`);

      const uid = pax.has('uid') ? decimal(pax.get('uid')!, 'uid', at) : num(h, F.uid, 'uid', at);
      const gid = pax.has('gid') ? decimal(pax.get('gid')!, 'gid', at) : num(h, F.gid, 'gid', at);
      const mtime = pax.has('mtime') ? paxTime(pax.get('mtime')!, at) : { sec: num(h, F.mtime, 'mtime', at), nsec: 0 };
      const dev = type === 'char' || type === 'block';

      yield {
        name,
        type,
        mode: num(h, F.mode, 'mode', at) & 0o7777,
        uid,
        gid,
        mtime,
        linkname: type === 'symlink' || type === 'hardlink' ? linkname : Buffer.alloc(0),
        devmajor: dev ? num(h, F.devmajor, 'devmajor', at) : 0,
        devminor: dev ? num(h, F.devminor, 'devminor', at) : 0,
        size: content.size,
        xattrs,
        content,
        offset: pos,
      };
      local = [];
      longName = longLink = undefined;
      pos = dataPos + padded(dataSize);
    }
  } finally {
    closeSync(fd);
  }
}
