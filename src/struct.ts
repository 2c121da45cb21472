// On-disk structures declared as data: a field table per structure, in the format's own
// names (offset, width, byte order), and one encoder/decoder that reads and writes a
// record by field name. Every writer declares its structures with defineStruct, beside
// the source of each rule (kernel header, format book), so no offset literal lives in the
// code that fills them. The model is hcsshim's ext4/internal/format (a Go struct per
// on-disk structure, filled by field name).

/** u8; le/be 16, 32, 64-bit unsigned integers; bytes: a fixed-size byte field. */
export type FieldType = 'u8' | 'le16' | 'le32' | 'le64' | 'be16' | 'be32' | 'be64' | 'bytes';

/** [offset, type] or, for bytes, [offset, 'bytes', size]. */
export type Field = readonly [number, Exclude<FieldType, 'bytes'>] | readonly [number, 'bytes', number];

export type Fields = Readonly<Record<string, Field>>;

type Value<F extends Field> = F[1] extends 'bytes' ? Uint8Array : F[1] extends 'le64' | 'be64' ? number | bigint : number;

/** A record to encode: every field optional (absent = zero). */
export type Record_<L extends Fields> = { [K in keyof L]?: Value<L[K]> };

/** A decoded record: numbers (64-bit fields as bigint), byte fields as Buffers. */
export type Decoded<L extends Fields> = {
  [K in keyof L]: L[K][1] extends 'bytes' ? Buffer : L[K][1] extends 'le64' | 'be64' ? bigint : number;
};

const WIDTH: Record<Exclude<FieldType, 'bytes'>, number> = { u8: 1, le16: 2, be16: 2, le32: 4, be32: 4, le64: 8, be64: 8 };

export interface Struct<L extends Fields> {
  readonly name: string;
  readonly size: number;
  readonly fields: L;
  /** The record's bytes: into a new buffer of `size`, or written into `buf` at `offset`. */
  encode(values: Record_<L>, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Uint8Array, offset?: number): Decoded<L>;
}

function width(f: Field): number {
  return f[1] === 'bytes' ? f[2] : WIDTH[f[1]];
}

/** Checks the table (fields inside the structure, none overlapping) and returns its codec. */
export function defineStruct<L extends Fields>(name: string, size: number, fields: L): Struct<L> {
  const spans = Object.entries(fields)
    .map(([k, f]) => ({ k, from: f[0], to: f[0] + width(f) }))
    .sort((a, b) => a.from - b.from);
  spans.forEach((s, i) => {
    if (s.from < 0 || s.to > size) throw new Error(`${name}.${s.k}: outside the ${size}-byte structure`);
    const prev = spans[i - 1];
    if (prev && prev.to > s.from) throw new Error(`${name}.${s.k}: overlaps ${name}.${prev.k}`);
  });
  return {
    name,
    size,
    fields,
    encode(values, buf = Buffer.alloc(size), offset = 0) {
      for (const [k, v] of Object.entries(values)) {
        const f = fields[k];
        if (!f) throw new Error(`${name}: no field ${k}`);
        if (v !== undefined) putField(buf, offset + f[0], f, v as number | bigint | Uint8Array, `${name}.${k}`);
      }
      return offset === 0 && buf.length === size ? buf : buf.subarray(offset, offset + size);
    },
    decode(bytes, offset = 0) {
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(fields)) out[k] = getField(buf, offset + f[0], f);
      return out as Decoded<L>;
    },
  };
}

function checkInt(v: number | bigint, bits: number, where: string): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`${where}: ${v} is not an integer`);
  const b = BigInt(v);
  if (b < 0n || b >= 1n << BigInt(bits)) throw new RangeError(`${where}: ${v} is outside 0..2^${bits}-1`);
  return b;
}

function putField(buf: Buffer, at: number, f: Field, v: number | bigint | Uint8Array, where: string): void {
  if (f[1] === 'bytes') {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${where}: bytes expected`);
    if (v.length > f[2]) throw new RangeError(`${where}: ${v.length} bytes do not fit in ${f[2]}`);
    buf.set(v, at);
    return;
  }
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new TypeError(`${where}: a number expected`);
  const n = checkInt(v, WIDTH[f[1]] * 8, where);
  switch (f[1]) {
    case 'u8': return void buf.writeUInt8(Number(n), at);
    case 'le16': return void buf.writeUInt16LE(Number(n), at);
    case 'be16': return void buf.writeUInt16BE(Number(n), at);
    case 'le32': return void buf.writeUInt32LE(Number(n), at);
    case 'be32': return void buf.writeUInt32BE(Number(n), at);
    case 'le64': return void buf.writeBigUInt64LE(n, at);
    case 'be64': return void buf.writeBigUInt64BE(n, at);
  }
}

function getField(buf: Buffer, at: number, f: Field): number | bigint | Buffer {
  switch (f[1]) {
    case 'bytes': return Buffer.from(buf.subarray(at, at + f[2]));
    case 'u8': return buf.readUInt8(at);
    case 'le16': return buf.readUInt16LE(at);
    case 'be16': return buf.readUInt16BE(at);
    case 'le32': return buf.readUInt32LE(at);
    case 'be32': return buf.readUInt32BE(at);
    case 'le64': return buf.readBigUInt64LE(at);
    case 'be64': return buf.readBigUInt64BE(at);
  }
}
