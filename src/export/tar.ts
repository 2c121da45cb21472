// The tree as a PAX tar (POSIX.1-2001 pax; GNU tar manual "Standard" and "Sparse
// Formats"), what `fledge-pure export` writes and GNU tar extracts as root to exactly
// the tree. Entries in tree order; no user or group names; hard links after the first
// name as typeflag '1'; xattrs as SCHILY.xattr.NAME records with byte-exact values.
//
// Header (512 bytes, ustar): name[100] mode[8] uid[8] gid[8] size[12] mtime[12]
// chksum[8] typeflag[1] linkname[100] "ustar\0" "00" uname[32] gname[32] devmajor[8]
// devminor[8] prefix[155]; numbers octal, NUL-terminated. Whatever does not fit — long
// names and link targets, ids ≥ 2^21, sizes ≥ 8 GiB, times before 1970 or with
// nanoseconds, xattrs — goes in a preceding 'x' header of "LEN KEY=VALUE\n" records
// (LEN counts the whole record in bytes, itself included).
// Files with holes use GNU sparse 1.0: the 'x' header carries GNU.sparse.major=1,
// minor=0, name and realsize; the data starts with the map ("N\n" then offset and
// length per segment, decimal, newline-ended, padded to 512) followed by the segments.
import { drainSync } from '../chunks.js';
import { readContent, segments, type Content } from '../tree/content.js';
import { checkLimits } from '../tree/limits.js';
import type { Node, Tree } from '../tree/tree.js';
import { TAR_LIMITS } from './limits.js';

const TYPEFLAG: Record<Node['type'], string | undefined> = {
  file: '0',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
  socket: undefined, // tar has no sockets (GNU tar skips them too)
};

const MAX_OCTAL = (digits: number) => 8 ** digits - 1;

function pad512(n: number): number {
  return (512 - (n % 512)) % 512;
}

/** One "LEN KEY=VALUE\n" record; LEN includes its own digits. */
function paxRecord(key: string, value: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(
  name: Buffer,
  typeflag: string,
  f: {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtime: number;
    linkname?: Buffer;
    major?: number;
    minor?: number;
  },
): Buffer {
  const h = Buffer.alloc(512);
  const octal = (v: number, at: number, len: number) =>
    h.write(
      Math.min(Math.max(v, 0), MAX_OCTAL(len - 1))
        .toString(8)
        .padStart(len - 1, '0'),
      at,
      'latin1',
    );
  name.subarray(0, 100).copy(h, 0);
  octal(f.mode, 100, 8);
  octal(f.uid, 108, 8);
  octal(f.gid, 116, 8);
  octal(f.size, 124, 12);
  octal(f.mtime, 136, 12);
  h.write(typeflag, 156, 'latin1');
  f.linkname?.subarray(0, 100).copy(h, 157);
  h.write('ustar\x0000', 257, 'latin1');
  octal(f.major ?? 0, 329, 8);
  octal(f.minor ?? 0, 337, 8);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/** The data pieces back to back: what a sparse entry stores after its map. */
function packed(c: Content): Content {
  let at = 0;
  const pieces = c.pieces.map((p) => {
    const q = { ...p, at };
    at += p.length;
    return q;
  });
  return { size: at, pieces };
}

/** head, then the chunks of rest, streamed (never collected into an array). */
function* withHead(head: Uint8Array, rest: Iterable<Uint8Array>): Generator<Uint8Array> {
  yield head;
  yield* rest;
}

/** Writes the tree as a PAX tar through `out`; returns the paths left out (sockets). */
export function writePaxTar(tree: Tree, out: (chunk: Uint8Array) => void): string[] {
  return drainSync(paxTarChunks(tree), out);
}

/** What one entry writes: its header's name, typeflag, link target and size, its data, its own pax records. */
interface Entry {
  headerName: Buffer;
  type: string;
  linkname: Buffer | undefined;
  size: number;
  data: Iterable<Uint8Array>;
  records: Buffer[];
}

/** A file with holes as GNU sparse 1.0 (its records, name, stored size, map then data); undefined without holes. */
function sparseEntry(path: Buffer, c: Content): Omit<Entry, 'type' | 'linkname'> | undefined {
  const segs = segments(c);
  const holes = segs.reduce((n, s) => n - s.length, c.size) > 0;
  if (!holes) return undefined;
  // a file ending in a hole ends its map with an empty segment there, as GNU tar
  // writes it; without it GNU tar extracts the file cut short at its last data
  const last = segs[segs.length - 1];
  if (!last || last.at + last.length < c.size) segs.push({ at: c.size, length: 0 });
  const map = Buffer.from(`${segs.length}\n${segs.map((s) => `${s.at}\n${s.length}\n`).join('')}`);
  const mapBlock = Buffer.concat([map, Buffer.alloc(pad512(map.length))]);
  return {
    records: [
      paxRecord('GNU.sparse.major', Buffer.from('1')),
      paxRecord('GNU.sparse.minor', Buffer.from('0')),
      paxRecord('GNU.sparse.name', path),
      paxRecord('GNU.sparse.realsize', Buffer.from(String(c.size))),
    ],
    headerName: Buffer.concat([Buffer.from('GNUSparseFile.0/'), path]),
    size: mapBlock.length + segs.reduce((n, s) => n + s.length, 0),
    data: withHead(mapBlock, readContent(packed(c))),
  };
}

/** The entry of `node` at `path`: a hard link ('1') after a file's first name, sparse when it has holes. */
function entryOf(path: Buffer, node: Node, typeflag: string, firstName: Map<Node, Buffer>): Entry {
  const name = node.type === 'dir' ? Buffer.concat([path, Buffer.from('/')]) : path;
  const linkname = node.type === 'symlink' ? Buffer.from(node.target) : undefined;
  const entry: Entry = { headerName: name, type: typeflag, linkname, size: 0, data: [], records: [] };
  if (node.type !== 'file') return entry;
  const link = firstName.get(node);
  if (link) return { ...entry, type: '1', linkname: link };
  firstName.set(node, path);
  const sparse = sparseEntry(path, node.content);
  if (sparse) return { ...entry, ...sparse };
  return { ...entry, size: node.content.size, data: readContent(node.content) };
}

/** The pax text of a time: seconds and nanoseconds, trailing zeros dropped (before 1970: negative, fraction down). */
function paxTime(sec: number, nsec: number): string {
  const frac = nsec ? `.${String(nsec).padStart(9, '0')}`.replace(/0+$/, '') : '';
  return sec < 0 && nsec
    ? `-${-sec - 1}${`.${String(1e9 - nsec).padStart(9, '0')}`.replace(/0+$/, '')}`
    : `${sec}${frac}`;
}

/** The entry's records, then those for what its ustar header cannot hold, then its xattrs. */
function paxRecords(e: Entry, node: Node): Buffer[] {
  const records = e.records;
  if (e.headerName.length > 100) records.push(paxRecord('path', e.headerName));
  if (e.linkname && e.linkname.length > 100) records.push(paxRecord('linkpath', e.linkname));
  if (node.uid > MAX_OCTAL(7)) records.push(paxRecord('uid', Buffer.from(String(node.uid))));
  if (node.gid > MAX_OCTAL(7)) records.push(paxRecord('gid', Buffer.from(String(node.gid))));
  if (e.size > MAX_OCTAL(11)) records.push(paxRecord('size', Buffer.from(String(e.size))));
  const { sec, nsec } = node.mtime;
  if (nsec || sec < 0 || sec > MAX_OCTAL(11)) records.push(paxRecord('mtime', Buffer.from(paxTime(sec, nsec))));
  for (const [k, v] of [...node.xattrs].sort(([a], [b]) => (a < b ? -1 : 1)))
    records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  return records;
}

/** The 'x' header carrying `records`, and its data padded to 512. */
function* paxHeader(path: Buffer, records: Buffer[], sec: number): Generator<Uint8Array> {
  const body = Buffer.concat(records);
  yield header(Buffer.from('PaxHeaders/' + path.subarray(-80).toString('latin1'), 'latin1'), 'x', {
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: Math.max(sec, 0),
  });
  yield Buffer.concat([body, Buffer.alloc(pad512(body.length))]);
}

/** The entry's data, checked to be `size` bytes, padded to 512. */
function* entryData(path: Buffer, data: Iterable<Uint8Array>, size: number): Generator<Uint8Array> {
  let n = 0;
  for (const chunk of data) {
    yield chunk;
    n += chunk.length;
  }
  if (n !== size) throw new Error(`tar: "${path.toString('utf8')}" gave ${n} bytes, expected ${size}`);
  if (pad512(size)) yield new Uint8Array(pad512(size));
}

/** The tree as a PAX tar, chunk by chunk; returns the paths left out (sockets). */
export function* paxTarChunks(tree: Tree): Generator<Uint8Array, string[]> {
  checkLimits(tree, TAR_LIMITS);
  const firstName = new Map<Node, Buffer>();
  const skipped: string[] = [];
  for (const { path, node } of tree.walk()) {
    const typeflag = TYPEFLAG[node.type];
    if (!typeflag) {
      skipped.push(path.toString('utf8'));
      continue;
    }
    const e = entryOf(path, node, typeflag, firstName);
    const records = paxRecords(e, node);
    const sec = node.mtime.sec;
    if (records.length) yield* paxHeader(path, records, sec);
    const rdev = node.type === 'char' || node.type === 'block' ? node.rdev : undefined;
    yield header(e.headerName, e.type, {
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      size: e.size,
      mtime: sec,
      linkname: e.linkname,
      major: rdev?.major,
      minor: rdev?.minor,
    });
    yield* entryData(path, e.data, e.size);
  }
  yield new Uint8Array(1024);
  return skipped;
}
