// The tar reader on a pax archive built by hand (POSIX pax: an 'x' header whose
// SCHILY.xattr record holds a binary value), and why tar-stream is not used. Pure: moved
// out of test/tar.test.ts, whose other tests need GNU tar and setfattr.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTar, type TarEntry } from '../../src/oci/tar.js';
import { readContent } from '../../src/tree/content.js';

const scratch = mkdtempSync(join(tmpdir(), 'fp-tar-pax-'));
let n = 0;

function bytesOf(e: TarEntry): Buffer {
  return Buffer.concat([...readContent(e.content)]);
}

describe('tar reader: a hand-built pax archive', () => {
  it('keeps a hand-built binary pax value (0x00, 0xff, "\\n", "=", invalid UTF-8) byte-exact', () => {
    const [e] = [...readTar(handBuilt())];
    expect(e!.name.toString()).toBe('f');
    expect(Buffer.from(e!.xattrs.get('security.capability')!)).toEqual(BINARY);
    expect(bytesOf(e!).toString()).toBe('abc');
  });
});

const BINARY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x0a, 0x3d, 0x80, 0x00, 0xc3, 0x28]);

/** A pax archive written by hand: one 'x' header with SCHILY.xattr.security.capability = BINARY, then file f. */
function handBuilt(): string {
  const body = Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), BINARY, Buffer.from('\n')]);
  // "<len> <key>=<value>\n", len counting its own digits (POSIX pax): find the fixed point
  let len = body.length + 2;
  while (String(len).length + 1 + body.length !== len) len = String(len).length + 1 + body.length;
  const record = Buffer.concat([Buffer.from(`${len} `), body]);
  const tar = join(scratch, `hand${n++}.tar`);
  writeFileSync(
    tar,
    Buffer.concat([
      header('PaxHeaders/f', 'x', record.length),
      pad(record),
      header('f', '0', 3),
      pad(Buffer.from('abc')),
      Buffer.alloc(1024),
    ]),
  );
  return tar;
}

/** A ustar header (POSIX ustar: name 0, mode 100, uid 108, gid 116, size 124, mtime 136, chksum 148, typeflag 156, magic 257). */
function header(name: string, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\x0000', 257, 'latin1');
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

// tar-stream is the tar reader the design named; this shows why src/oci/tar.ts exists
describe('tar-stream', () => {
  it('corrupts a binary pax xattr value (why this reader exists)', async () => {
    const name = 'tar-stream';
    const { extract } = (await import(name)) as { extract: () => NodeJS.WritableStream & NodeJS.EventEmitter };
    const ex = extract();
    const pax = await new Promise<Record<string, string> | undefined>((resolve, reject) => {
      ex.on('entry', (h: { pax?: Record<string, string> }, stream: NodeJS.ReadableStream, next: () => void) => {
        resolve(h.pax);
        stream.resume();
        next();
      });
      ex.on('error', reject);
      ex.end(readFileSync(handBuilt()));
    });
    const value = pax?.['SCHILY.xattr.security.capability'];
    // the bytes cannot be recovered from what it gives (0xff became U+FFFD, or the record was dropped)
    expect(value !== undefined && Buffer.from(value, 'utf8').equals(BINARY)).toBe(false);
  });
});
