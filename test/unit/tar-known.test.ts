// The tar reader on an archive written by GNU tar 1.34 (Debian 12), kept here as bytes:
//   mkdir p && cd p && printf 'hello\n' > $(printf 'd%.0s' $(seq 120)) && ln -s d…d link && cd ..
//   tar --format=pax --pax-option='delete=atime,delete=ctime' --mtime=@1700000000.123456789 \
//       --owner=3000000 --group=70000 --numeric-owner --mode=0640 -C p -cf pax.tar d…d link
//   gzip -9n < pax.tar | base64 -w0
// The expected fields are what GNU tar itself lists (tar -tvf pax.tar --full-time --numeric-owner):
//   -rw-r----- 3000000/70000 6 2023-11-14 22:13:20.123456789 d…d
//   lrw-r----- 3000000/70000 0 2023-11-14 22:13:20.123456789 link -> d…d
// The 120-byte name does not fit ustar's 100-byte field, so it comes from a pax 'x' record
// ("130 path=d…d"), and so do the uid (over ustar's 7 octal digits), the nanosecond mtime
// and the link target ("134 linkpath=d…d").
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTar } from '../../src/oci/tar.js';
import { readContent } from '../../src/tree/content.js';

const GNU_TAR_PAX =
  'H4sIAAAAAAACA+3WSw6CMBQF0I5ZRVeAff3qgLlDt0DSJhLxE8XE5VtCjNgYnQhGuWdCQgc09F0u+WxVXpah9OF4mvlhiMhqzUQnvQ' +
  'ppHCNtpHZO6Pa+IiUk4xc2gvOpKY9xK2ya4pvmh7JZF/5LMjL8XPlCdbOQxf1sm2obCnK3+chJKm2smy8yBp81xhF3+e/lXpIw9p' +
  '7/uJrkX1rnGBe/lP/04/Yj1qGu94jVZOX9/q+r3WaAZ7ztf6se809EltD/4/S/5u2x4x9gmgaK/JP8v+p/kfS/MibmX44xexPvfwAAAAAAAAAAAAAAAPgvVzPhGKUAKAAA';

describe('tar reader on a GNU tar pax archive (known answers)', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'fp-tar-known-')), 'pax.tar');
  writeFileSync(path, gunzipSync(Buffer.from(GNU_TAR_PAX, 'base64')));
  const long = 'd'.repeat(120);

  it('reads names, owners, modes, sizes and nanosecond times from the pax records', () => {
    const es = [...readTar(path)].map((e) => ({
      name: e.name.toString(),
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      size: e.size,
      mtime: e.mtime,
      linkname: e.linkname.toString(),
    }));
    const common = { mode: 0o640, uid: 3000000, gid: 70000, mtime: { sec: 1700000000, nsec: 123456789 } };
    expect(es).toEqual([
      { name: long, type: 'file', size: 6, linkname: '', ...common },
      { name: 'link', type: 'symlink', size: 0, linkname: long, ...common },
    ]);
  });

  it('points the file content at the data block after its header', () => {
    const [file] = [...readTar(path)];
    expect(Buffer.concat([...readContent(file!.content)]).toString()).toBe('hello\n');
    // the pax 'x' header and its one block of records come first: the entry's own header is at 1024
    expect(file!.offset).toBe(1024);
  });
});
