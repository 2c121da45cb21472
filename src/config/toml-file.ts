// Shared by fledge.toml and manifest.toml: read + parse a TOML file, find the line of a key
// in the source text, suggest the nearest valid key, and check the type of every value,
// collecting Problems instead of stopping at the first one.

import * as fs from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import toml from 'toml';
import { UsageError } from '../errors.js';
import type { Problem } from './types.js';

export type Table = Record<string, unknown>;
/** Path of a key: table names, key names, and array indexes for [[array.tables]]. */
export type KeyPath = (string | number)[];

/** `file:line: key: message`, the file shown relative to the working folder when inside it. */
export function formatProblem(p: Problem): string {
  const rel = relative(process.cwd(), p.file);
  const file = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p.file;
  return `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

export class ConfigError extends UsageError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Dotted display form: agent.version, mappings."./app", network.expose[1].port */
export function keyName(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = /^[A-Za-z0-9_-]+$/.test(seg) ? seg : JSON.stringify(seg);
      out += out ? `.${s}` : s;
    }
  }
  return out;
}

export function isTable(v: unknown): v is Table {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return `a string (${JSON.stringify(v)})`;
  if (typeof v === 'number') return Number.isInteger(v) ? `an integer (${v})` : `a float (${v})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a date-time';
  return 'a table';
}

/** Optimal-string-alignment distance: a transposition counts as one edit. */
function distance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate within 3 edits (and less than half the word), if any. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) [best, bestD] = [c, dist];
  }
  return bestD <= 3 && bestD < Math.max(word.length, 2) / 2 + 0.5 ? best : undefined;
}

// ---- key → line lookup -------------------------------------------------------------

/** Parse `a."b c".d` up to `end`; returns the keys, or undefined when the text is no key. */
function parseKeys(s: string, end: string): { keys: string[]; rest: string } | undefined {
  const keys: string[] = [];
  let i = 0;
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '"') {
      const q = basicKey(s, i);
      if (!q) return undefined;
      keys.push(q.key);
      i = q.end + 1;
    } else if (s[i] === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return undefined;
      keys.push(s.slice(i + 1, j));
      i = j + 1;
    } else {
      const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i));
      if (!m) return undefined;
      keys.push(m[0]);
      i += m[0].length;
    }
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '.') {
      i++;
      continue;
    }
    if (s.startsWith(end, i)) return { keys, rest: s.slice(i + end.length) };
    return undefined;
  }
}

/**
 * The key of the "…" starting at s[start] (a backslash before n or t is a newline or tab, before
 * anything else that character) and the index of its closing quote.
 */
function basicKey(s: string, start: number): { key: string; end: number } | undefined {
  let j = start + 1;
  let key = '';
  while (j < s.length && s[j] !== '"') {
    if (s[j] === '\\' && j + 1 < s.length) {
      const e = s[j + 1];
      key += e === 'n' ? '\n' : e === 't' ? '\t' : e;
      j += 2;
    } else key += s[j++];
  }
  if (j >= s.length) return undefined;
  return { key, end: j };
}

/** Net count of `{` minus `}` outside strings and comments (for multi-line inline tables). */
function braceBalance(s: string): number {
  let n = 0;
  let q = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) {
      if (ch === '\\' && q === '"') i++;
      else if (ch === q) q = '';
    } else if (ch === '"' || ch === "'") q = ch;
    else if (ch === '#') break;
    else if (ch === '{') n++;
    else if (ch === '}') n--;
  }
  return n;
}

/** Map from JSON(path) to the 1-based line where that key or table is defined. */
function indexLines(text: string): Map<string, number> {
  const index = new Map<string, number>();
  const set = (path: KeyPath, line: number) => {
    for (let n = 1; n <= path.length; n++) {
      const id = JSON.stringify(path.slice(0, n));
      if (!index.has(id)) index.set(id, line);
    }
  };
  const aotCount = new Map<string, number>();
  let table: KeyPath = [];
  let inline: KeyPath[] = []; // open multi-line inline tables
  let depth = 0;
  let multiline = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const n = i + 1;
    if (multiline) {
      if (line.split(multiline).length % 2 === 0) multiline = '';
      return;
    }
    if (!line || line.startsWith('#')) return;
    if (depth === 0 && line.startsWith('[[')) {
      const k = parseKeys(line.slice(2), ']]');
      if (!k) return;
      const id = JSON.stringify(k.keys);
      const idx = aotCount.get(id) ?? 0;
      aotCount.set(id, idx + 1);
      table = [...k.keys, idx];
      set(table, n);
      return;
    }
    if (depth === 0 && line.startsWith('[')) {
      const k = parseKeys(line.slice(1), ']');
      if (!k) return;
      table = k.keys;
      set(table, n);
      return;
    }
    const prefix = depth > 0 ? inline[inline.length - 1] : table;
    const k = parseKeys(line, '=');
    if (k) {
      set([...prefix, ...k.keys], n);
      const rest = k.rest;
      for (const delim of ['"""', "'''"]) if (rest.split(delim).length % 2 === 0) multiline = delim;
      const b = braceBalance(rest);
      if (b > 0) {
        inline.push([...prefix, ...k.keys]);
        depth += b;
      }
      return;
    }
    if (depth > 0) {
      depth += braceBalance(line);
      if (depth <= 0) {
        depth = 0;
        inline = [];
      }
    }
  });
  return index;
}

// ---- reading -------------------------------------------------------------------------

export interface TomlSource {
  /** the path as the user gave it (shown in messages) */
  file: string;
  text: string;
  data: Table;
}

/** A config file is small text: a regular file of at most this many bytes. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * The text of a config file, or the one problem that stops reading it: missing, a folder,
 * not a regular file (a device or FIFO is never opened: /dev/zero would never end),
 * larger than 1 MiB, or not UTF-8.
 */
export function readConfigText(file: string, missingFix: string): string | { problem: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      problem:
        code === 'ENOENT'
          ? `file not found; ${missingFix}`
          : `cannot read the file (${code ?? (e as Error).message}); check the path and its permissions`,
    };
  }
  if (st.isDirectory()) return { problem: `is a folder, not a file; ${missingFix}` };
  if (!st.isFile())
    return {
      problem: `is not a regular file (a device, FIFO or socket); a config file is a text file — ${missingFix}`,
    };
  if (st.size > MAX_CONFIG_BYTES)
    return { problem: `is ${st.size} bytes, more than a config file can be (1 MiB); is this the right file?` };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    return {
      problem: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check its permissions`,
    };
  }
  if (bytes.length > MAX_CONFIG_BYTES) return { problem: 'grew past 1 MiB while being read; is this the right file?' };
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { problem: 'is not UTF-8 text (TOML files are UTF-8); is this the right file? Save it as UTF-8' };
  }
}

/** Read and parse; on failure returns the problems (missing file, syntax error). */
export function readTomlFile(file: string, missingFix: string): { source?: TomlSource; problems: Problem[] } {
  const read = readConfigText(file, missingFix);
  if (typeof read !== 'string') return { problems: [{ file, message: read.problem }] };
  const text = read;
  try {
    const data = toml.parse(text) as Table;
    return { source: { file, text, data }, problems: [] };
  } catch (e) {
    const err = e as Error & {
      line?: number;
      column?: number;
      found?: string | null;
      location?: { start: { line: number; column: number } };
    };
    const line = err.line ?? err.location?.start.line;
    const column = err.column ?? err.location?.start.column;
    let what = err.message;
    if (err.location) {
      const f = err.found;
      what = `unexpected ${f === null || f === undefined ? 'end of file' : f === '\n' || f === '\r' ? 'end of line' : JSON.stringify(f)}`;
    }
    const at = column !== undefined ? ` at column ${column}` : '';
    return {
      problems: [
        {
          file,
          line,
          message: `TOML syntax error${at}: ${what}; fix the TOML syntax on this line (see https://toml.io)`,
        },
      ],
    };
  }
}

// ---- checking ------------------------------------------------------------------------

export interface KeyRules {
  /** valid keys of this table */
  allowed: readonly string[];
  /** keys that are sections (tables) here, shown as [name] in messages */
  sections?: readonly string[];
  /** valid top-level keys: an unknown key here that is one of them was meant for the top level */
  topLevel?: readonly string[];
}

/** Collects problems with the right line for each key path. */
export class Checker {
  readonly problems: Problem[] = [];
  /** things that do nothing but are not errors, shown as warning lines */
  readonly warnings: Problem[] = [];
  private index?: Map<string, number>;
  constructor(private readonly src: TomlSource) {}

  lineOf(path: KeyPath): number | undefined {
    this.index ??= indexLines(this.src.text);
    for (let n = path.length; n > 0; n--) {
      const l = this.index.get(JSON.stringify(path.slice(0, n)));
      if (l !== undefined) return l;
    }
    return undefined;
  }

  report(path: KeyPath, message: string): void {
    const p: Problem = { file: this.src.file, message };
    const line = this.lineOf(path);
    if (line !== undefined) p.line = line;
    if (path.length) p.key = keyName(path);
    this.problems.push(p);
  }

  /** Like report, but a warning: the build goes on. */
  warn(path: KeyPath, message: string): void {
    const before = this.problems.length;
    this.report(path, message);
    this.warnings.push(...this.problems.splice(before));
  }

  /** Problems in file order; those without a line (missing top-level keys) first. */
  sorted(): Problem[] {
    return this.problems
      .map((p, i) => ({ p, i }))
      .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
      .map((x) => x.p);
  }

  /** Report every key of `obj` that is not in `rules.allowed`, with a suggestion. */
  keys(obj: Table, path: KeyPath, rules: KeyRules): void {
    const where = path.length ? `in [${keyName(path)}]` : 'at the top level';
    for (const key of Object.keys(obj)) {
      if (rules.allowed.includes(key)) continue;
      const isSection = path.length === 0 && isTable(obj[key]);
      if (path.length > 0 && rules.topLevel?.includes(key)) {
        this.report(
          [...path, key],
          `belongs at the top level, but TOML puts every key written after the [${keyName(path)}] header ` +
            'into that section; move this line above the first [section] header' +
            (key === 'mappings' ? ' or write it as a [mappings] table' : ''),
        );
        continue;
      }
      const s = suggest(key, rules.allowed);
      const top = s || !path.length || !rules.topLevel ? undefined : suggest(key, rules.topLevel);
      const label = isSection ? `unknown section [${key}]` : `unknown key ${where}`;
      const fix = s
        ? `did you mean ${isSection || rules.sections?.includes(s) ? `[${s}]` : s}?`
        : top
          ? `did you mean the top-level key ${top}? (then move it above the first [section] header)`
          : `valid keys are: ${rules.allowed.join(', ')}`;
      this.report([...path, key], `${label}; ${fix}`);
    }
  }

  /** Report a missing required key; `example` shows how to write it. */
  missing(path: KeyPath, example: string): void {
    this.report(path, `required but missing; add ${example}`);
  }

  private wrongType(path: KeyPath, v: unknown, want: string, fix: string): undefined {
    this.report(path, `must be ${want}, not ${describe(v)}; ${fix}`);
    return undefined;
  }

  str(
    obj: Table,
    key: string,
    path: KeyPath,
    opts: { required?: string; nonEmpty?: boolean } = {},
  ): string | undefined {
    const p = [...path, key];
    const v = obj[key];
    if (v === undefined) {
      if (opts.required) this.missing(p, opts.required);
      return undefined;
    }
    if (typeof v !== 'string') return this.wrongType(p, v, 'a string', 'put the value in double quotes');
    if ((opts.nonEmpty || opts.required) && v.trim() === '') {
      this.report(p, `is empty; ${opts.required ? `set it, e.g. ${opts.required}` : 'give a value or remove the key'}`);
      return undefined;
    }
    return v;
  }

  /** An integer in min…max (every number in a config has a range). */
  int(obj: Table, key: string, path: KeyPath, min: number, max: number, example: string): number | undefined {
    const p = [...path, key];
    const v = obj[key];
    if (v === undefined) return undefined;
    const float = typeof v === 'number' ? this.floatText(p) : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || float !== undefined) {
      this.report(
        p,
        `must be an integer, not ${float !== undefined ? `a float (${float})` : describe(v)}; write a whole number without quotes, e.g. ${example}`,
      );
      return undefined;
    }
    if (v < min || v > max) {
      this.report(p, `must be between ${min} and ${max} (got ${v}); e.g. ${example}`);
      return undefined;
    }
    return v;
  }

  /** The value at path as written when it is a TOML float (1e12, 100.0): the parser gives floats and integers as the same JS numbers. */
  private floatText(path: KeyPath): string | undefined {
    const line = this.lineOf(path);
    const key = path[path.length - 1];
    if (line === undefined || typeof key !== 'string') return undefined;
    const text = this.src.text.split(/\r?\n/)[line - 1] ?? '';
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`(?:^|[\\s{,.])["']?${escaped}["']?\\s*=\\s*([^,}\\s#]+)`).exec(text);
    return m && !/^0[xob]/.test(m[1]) && /[.eE]|inf|nan/.test(m[1]) ? m[1] : undefined;
  }

  bool(obj: Table, key: string, path: KeyPath): boolean | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean')
      return this.wrongType([...path, key], v, 'true or false', 'write true or false without quotes');
    return v;
  }

  table(obj: Table, key: string, path: KeyPath, example: string): Table | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!isTable(v)) return this.wrongType([...path, key], v, 'a table', `write it as ${example}`);
    return v;
  }

  /** Array of tables ([[name]] or [{...}, {...}]). */
  tables(obj: Table, key: string, path: KeyPath, example: string): Table[] | undefined {
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v))
      return this.wrongType([...path, key], v, 'an array of tables', `write each entry as ${example}`);
    const out: Table[] = [];
    v.forEach((item, i) => {
      if (isTable(item)) out.push(item);
      else this.wrongType([...path, key, i], item, 'a table', `write each entry as ${example}`);
    });
    return out.length === v.length ? out : undefined;
  }

  strArray(obj: Table, key: string, path: KeyPath, example: string): string[] | undefined {
    const p = [...path, key];
    const v = obj[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.wrongType(p, v, 'an array of strings', `write it as ${example}`);
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) return this.wrongType([...p, bad], v[bad], 'a string', `quote every item, e.g. ${example}`);
    return v as string[];
  }

  /** A table whose values are all strings (build_args, env, labels). */
  strMap(obj: Table, key: string, path: KeyPath, example: string): Record<string, string> | undefined {
    const t = this.table(obj, key, path, example);
    if (!t) return undefined;
    // no prototype: a key named __proto__ is data like any other
    const out: Record<string, string> = Object.create(null);
    let ok = true;
    for (const [k, v] of Object.entries(t)) {
      if (typeof v === 'string') out[k] = v;
      else {
        ok = false;
        this.wrongType([...path, key, k], v, 'a string', `put the value in double quotes, e.g. ${example}`);
      }
    }
    return ok ? out : undefined;
  }

  /** Report when `value` is not one of `allowed`. */
  oneOf<T extends string>(value: string | undefined, allowed: readonly T[], path: KeyPath): T | undefined {
    if (value === undefined) return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    const s = suggest(value, allowed);
    this.report(
      path,
      `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${JSON.stringify(value)})` +
        (s
          ? `; did you mean ${JSON.stringify(s)}?`
          : `; e.g. ${keyName(path.slice(-1))} = ${JSON.stringify(allowed[0])}`),
    );
    return undefined;
  }
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}
