// File names for a terminal: quoted as GNU tar's default "escape" quoting style does
// (gnulib quotearg.c), so an escape sequence or a newline in a name from an image never
// reaches the terminal raw and every line of a listing stays one entry.
/**
 * A name as GNU ls and tar quote it for a terminal: printable ASCII as is, the C escapes
 * (\n, \t, \\, ...) for what has one, octal \ooo for every other control or non-UTF-8
 * byte; valid UTF-8 beyond ASCII is kept when printable.
 */
export function quoteName(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  const exact = Buffer.from(text, 'utf8').equals(Buffer.from(bytes));
  if (exact && !/[\x00-\x1f\x7f-\x9f\\\u2028\u2029]/.test(text)) return text;
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!;
    const len = exact && b >= 0xc0 ? (b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2) : 1;
    const ch = len > 1 ? Buffer.from(bytes.subarray(i, i + len)).toString('utf8') : '';
    if (len > 1 && !/[\x80-\x9f\u2028\u2029]/.test(ch)) out += ch;
    else for (let k = i; k < i + len; k++) out += escapeByte(bytes[k]!);
    i += len;
  }
  return out;
}

const ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  0x5c: '\\\\',
};

function escapeByte(b: number): string {
  if (ESCAPES[b]) return ESCAPES[b]!;
  if (b >= 0x20 && b < 0x7f) return String.fromCharCode(b);
  return '\\' + b.toString(8).padStart(3, '0');
}
