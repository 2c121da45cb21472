// On-disk structures declared as data: a field table per structure, in the format's own
// names (offset, width, byte order), and one encoder/decoder that reads and writes a
// record by field name. Every writer declares its structures with defineStruct, beside
// the source of each rule (kernel header, format book), so no offset literal lives in the
// code that fills them. The model is hcsshim's ext4/internal/format (a Go struct per
// on-disk structure, filled by field name).

/** u8; le/be 16, 32, 64-bit unsigned integers; bytes: a fixed-size byte field. */
export type FieldType = 'u8' | 'le16' | 'le32' | 'le64' | 'be16' | 'be32' | 'be64' | 'bytes';
type IntType = Exclude<FieldType, 'bytes'>;

/**
 * [offset, type]; for bytes [offset, 'bytes', size]; for an array of integers (a C
 * `__le32 x[17]`) [offset, type, count].
 */
export type Field =
  readonly [number, IntType] | readonly [number, 'bytes', number] | readonly [number, IntType, number];

export type Fields = Readonly<Record<string, Field>>;

type Int<T> = T extends 'le64' | 'be64' ? number | bigint : number;
type Value<F extends Field> = F extends readonly [number, 'bytes', number]
  ? Uint8Array
  : F extends readonly [number, infer T, number]
    ? readonly Int<T>[]
    : Int<F[1]>;
type DecodedInt<T> = T extends 'le64' | 'be64' ? bigint : number;

/** A record to encode: every field optional (absent = zero). */
export type Record_<L extends Fields> = { [K in keyof L]?: Value<L[K]> };

/** A decoded record: numbers (64-bit fields as bigint), byte fields as Buffers, arrays as arrays. */
export type Decoded<L extends Fields> = {
  [K in keyof L]: L[K] extends readonly [number, 'bytes', number]
    ? Buffer
    : L[K] extends readonly [number, infer T, number]
      ? DecodedInt<T>[]
      : DecodedInt<L[K][1]>;
};

const WIDTH: Record<IntType, number> = { u8: 1, le16: 2, be16: 2, le32: 4, be32: 4, le64: 8, be64: 8 };

export interface Struct<L extends Fields> {
  readonly name: string;
  readonly size: number;
  readonly fields: L;
  /** The record's bytes: into a new buffer of `size`, or written into `buf` at `offset`. */
  encode(values: Record_<L>, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Uint8Array, offset?: number): Decoded<L>;
}

function width(f: Field): number {
  return f[1] === 'bytes' ? f[2] : WIDTH[f[1]] * (f[2] ?? 1);
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
  const setters = new Map(Object.entries(fields).map(([k, f]) => [k, setterFor(f, `${name}.${k}`)]));
  return {
    name,
    size,
    fields,
    encode(values, buf = Buffer.alloc(size), offset = 0) {
      for (const k in values) {
        const set = setters.get(k);
        if (!set) throw new Error(`${name}: no field ${k}`);
        const v = values[k];
        if (v !== undefined) set(buf, offset, v as FieldValue);
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

type FieldValue = number | bigint | Uint8Array | readonly (number | bigint)[];

function checkInt(v: number | bigint, bits: number, where: string): void {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`${where}: ${v} is not an integer`);
  // the common case (a number that fits) without a BigInt
  if (typeof v === 'number' && bits <= 32 && v >= 0 && v < 2 ** bits) return;
  const b = BigInt(v);
  if (b < 0n || b >= 1n << BigInt(bits)) throw new RangeError(`${where}: ${v} is outside 0..2^${bits}-1`);
}

type Setter = (buf: Buffer, offset: number, v: FieldValue) => void;

/**
 * The field's writer, made once per field when the structure is defined: an unsigned
 * integer of up to 32 bits that fits is written byte by byte at once (the common case,
 * millions of times in a large image); anything else goes through putField, which checks
 * it and throws the same errors.
 */
function setterFor(f: Field, where: string): Setter {
  const slow: Setter = (buf, offset, v) => putField(buf, offset + f[0], f, v, where);
  if (f[2] !== undefined) return slow;
  const at = f[0];
  const type = f[1];
  const little = type === 'le16' || type === 'le32';
  const bytes = type === 'u8' ? 1 : type === 'le16' || type === 'be16' ? 2 : type === 'le32' || type === 'be32' ? 4 : 0;
  if (!bytes) return slow;
  const limit = 2 ** (8 * bytes);
  return (buf, offset, v) => {
    if (typeof v !== 'number' || !(v >= 0 && v < limit) || !Number.isInteger(v)) return slow(buf, offset, v);
    const p = offset + at;
    if (p < 0 || p + bytes > buf.length) return slow(buf, offset, v);
    for (let k = 0; k < bytes; k++) buf[little ? p + k : p + bytes - 1 - k] = (v >>> (8 * k)) & 0xff;
  };
}

function putField(buf: Buffer, at: number, f: Field, v: FieldValue, where: string): void {
  if (f[1] === 'bytes') {
    if (!(v instanceof Uint8Array)) throw new TypeError(`${where}: bytes expected`);
    if (v.length > f[2]) throw new RangeError(`${where}: ${v.length} bytes do not fit in ${f[2]}`);
    buf.set(v, at);
    return;
  }
  const count = f[2];
  if (count === undefined) return putInt(buf, at, f[1], v, where);
  if (!Array.isArray(v)) throw new TypeError(`${where}: an array of ${count} numbers expected`);
  if (v.length > count) throw new RangeError(`${where}: ${v.length} elements do not fit in ${count}`);
  v.forEach((e: number | bigint, k) => putInt(buf, at + k * WIDTH[f[1]], f[1], e, `${where}[${k}]`));
}

function putInt(buf: Buffer, at: number, type: IntType, v: FieldValue, where: string): void {
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new TypeError(`${where}: a number expected`);
  checkInt(v, WIDTH[type] * 8, where);
  const n = Number(v);
  switch (type) {
    case 'u8':
      return void buf.writeUInt8(n, at);
    case 'le16':
      return void buf.writeUInt16LE(n, at);
    case 'be16':
      return void buf.writeUInt16BE(n, at);
    case 'le32':
      return void buf.writeUInt32LE(n, at);
    case 'be32':
      return void buf.writeUInt32BE(n, at);
    case 'le64':
      return void buf.writeBigUInt64LE(BigInt(v), at);
    case 'be64':
      return void buf.writeBigUInt64BE(BigInt(v), at);
  }
}

function getField(buf: Buffer, at: number, f: Field): number | bigint | Buffer | (number | bigint)[] {
  if (f[1] === 'bytes') return Buffer.from(buf.subarray(at, at + f[2]));
  const type = f[1];
  const count = f[2];
  if (count === undefined) return getInt(buf, at, type);
  return Array.from({ length: count }, (_, k) => getInt(buf, at + k * WIDTH[type], type));
}

function getInt(buf: Buffer, at: number, type: IntType): number | bigint {
  switch (type) {
    case 'u8':
      return buf.readUInt8(at);
    case 'le16':
      return buf.readUInt16LE(at);
    case 'be16':
      return buf.readUInt16BE(at);
    case 'le32':
      return buf.readUInt32LE(at);
    case 'be32':
      return buf.readUInt32BE(at);
    case 'le64':
      return buf.readBigUInt64LE(at);
    case 'be64':
      return buf.readBigUInt64BE(at);
  }
}
