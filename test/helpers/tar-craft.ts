// Hand-made tar archives for hostile-input tests: every header field can be set to any
// bytes (octal text, GNU base-256, garbage), so a test can build what no tar tool
// writes. Layout: POSIX ustar (name 0/100, mode 100/8, uid 108/8, gid 116/8, size
// 124/12, mtime 136/12, chksum 148/8, typeflag 156, linkname 157/100, magic 257/6,
// version 263/2, devmajor 329/8, devminor 337/8, prefix 345/155).

const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  linkname: [157, 100],
  devmajor: [329, 8],
  devminor: [337, 8],
} as const;

export type FieldValue = number | bigint | Buffer | string;
export type Header = Partial<Record<keyof typeof FIELDS, FieldValue>> & { type?: string; data?: Buffer };

/** GNU base-256: the high bit of the first byte set, then a big-endian two's complement number. */
export function base256(v: bigint, len: number): Buffer {
  const b = Buffer.alloc(len);
  let x = v < 0n ? (1n << BigInt(len * 8 - 1)) + v : v; // two's complement in len*8−1 bits
  for (let i = len - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  b[0] = (b[0]! & 0x7f) | 0x80 | (v < 0n ? 0x40 : 0);
  return b;
}

function put(h: Buffer, [at, len]: readonly [number, number], v: FieldValue): void {
  if (Buffer.isBuffer(v)) v.subarray(0, len).copy(h, at);
  else if (typeof v === 'string') Buffer.from(v, 'latin1').subarray(0, len).copy(h, at);
  else h.write(v.toString(8).padStart(len - 1, '0'), at, len - 1, 'latin1');
}

/** One header block with a correct checksum; numbers default to 0, mode 0644. */
export function header(f: Header): Buffer {
  const h = Buffer.alloc(512);
  const all: Header = {
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: f.data?.length ?? 0,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
    ...f,
  };
  for (const [k, pos] of Object.entries(FIELDS)) {
    const v = all[k as keyof typeof FIELDS];
    if (v !== undefined) put(h, pos, v);
  }
  h.write(all.type ?? '0', 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/** A pax record "LEN KEY=VALUE\n". */
export function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** An entry: its header (after a pax 'x' header when `pax` is given) and its data padded to 512. */
export function entry(f: Header, pax?: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  if (pax) {
    const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
    parts.push(header({ name: 'PaxHeaders/x', type: 'x', data: body }), pad(body));
  }
  parts.push(header(f), pad(f.data ?? Buffer.alloc(0)));
  return Buffer.concat(parts);
}

function pad(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

/** Entries then the end-of-archive blocks. */
export function tarOf(...entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}
