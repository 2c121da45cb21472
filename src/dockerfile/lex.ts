// Word processing and variable substitution for the instructions that expand variables
// (Dockerfile reference, "Environment replacement"; BuildKit frontend/dockerfile/shell/lex.go):
// `$name`, `${name}`, `${name:-word}`, `${name-word}`, `${name:+word}`, `${name+word}`,
// `${name:?message}`, `${name?message}`; single quotes are literal, double quotes expand,
// the escape character makes the next character literal (inside double quotes only
// before `"`, `$` and itself). Quotes are removed. Unquoted whitespace — also inside an
// expanded value — separates words.

export type Env = ReadonlyMap<string, string>;

export class LexError extends Error {}

class Words {
  words: string[] = [];
  word = '';
  inWord = false;
  /** unquoted text: whitespace ends the word */
  add(s: string): void {
    for (const ch of s) {
      if (/\s/.test(ch)) {
        if (this.inWord) this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      } else this.raw(ch);
    }
  }
  /** quoted text: kept whole; an empty quoted string still makes a word */
  raw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  done(): string[] {
    if (this.inWord) this.words.push(this.word);
    return this.words;
  }
}

class Lexer {
  pos = 0;
  constructor(
    readonly s: string,
    readonly env: Env,
    readonly escape: string,
    /** false: quotes and the escape character are plain text (here-document bodies) */
    readonly quotes = true,
  ) {}

  /** Processes up to `stop` (consumed) or the end, into w. */
  run(w: Words, stop?: string): void {
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos];
      if (stop !== undefined && ch === stop) {
        this.pos++;
        return;
      }
      this.pos++;
      if (!this.quotes && ch !== '$') w.raw(ch);
      else if (ch === this.escape) {
        if (this.pos < this.s.length) w.raw(this.s[this.pos++]);
      } else if (ch === "'") w.raw(this.single());
      else if (ch === '"') w.raw(this.double());
      else if (ch === '$') w.add(this.dollar());
      else w.add(ch);
    }
    if (stop !== undefined) throw new LexError(`missing "${stop}"`);
  }

  single(): string {
    const end = this.s.indexOf("'", this.pos);
    if (end < 0) throw new LexError('unmatched single quote');
    const out = this.s.slice(this.pos, end);
    this.pos = end + 1;
    return out;
  }

  double(): string {
    let out = '';
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos++];
      if (ch === '"') return out;
      if (ch === '$') out += this.dollar();
      else if (ch === this.escape && this.pos < this.s.length && ['"', '$', this.escape].includes(this.s[this.pos]))
        out += this.s[this.pos++];
      else out += ch;
    }
    throw new LexError('unmatched double quote');
  }

  name(): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*|^[0-9]/.exec(this.s.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }

  dollar(): string {
    if (this.s[this.pos] !== '{') {
      const name = this.name();
      return name ? (this.env.get(name) ?? '') : '$';
    }
    this.pos++;
    const name = this.name();
    if (!name) throw new LexError('bad substitution: ${ must be followed by a variable name');
    if (this.s[this.pos] === '}') {
      this.pos++;
      return this.env.get(name) ?? '';
    }
    const colon = this.s[this.pos] === ':';
    if (colon) this.pos++;
    const op = this.s[this.pos++];
    if (op !== '-' && op !== '+' && op !== '?')
      throw new LexError(
        `unsupported modifier "${colon ? ':' : ''}${op ?? ''}" in \${${name}...}: use :-, -, :+, +, :? or ?`,
      );
    const w = new Words();
    this.run(w, '}');
    const word = w.done().join(' ');
    return modifier(name, this.env.get(name), colon, op, word);
  }
}

function modifier(name: string, value: string | undefined, colon: boolean, op: string, word: string): string {
  const set = colon ? value !== undefined && value !== '' : value !== undefined;
  if (op === '-') return set ? value! : word;
  if (op === '+') return set ? word : '';
  if (!set) throw new LexError(`${name}: ${word || 'is not set'}`);
  return value!;
}

/** One word: expanded, quotes removed, whitespace kept. */
export function expandWord(s: string, env: Env, escape = '\\'): string {
  const w = new Words();
  const lx = new Lexer(s, env, escape);
  // whitespace is part of the word: treat all of it as raw
  w.add = w.raw;
  lx.run(w);
  return w.word;
}

/** A here-document body: only `$` substitutions; quotes and backslashes stay as written. */
export function expandHeredoc(s: string, env: Env): string {
  const w = new Words();
  w.add = w.raw;
  new Lexer(s, env, '\\', false).run(w);
  return w.word;
}

/** Words split on unquoted whitespace, each expanded, quotes removed. */
export function expandWords(s: string, env: Env, escape = '\\'): string[] {
  const w = new Words();
  new Lexer(s, env, escape).run(w);
  return w.done();
}

/**
 * Words split on unquoted whitespace with quotes and escapes left in place (BuildKit's
 * parseWords), for `key=value` lists (ENV, LABEL, ARG) before expansion.
 */
export function rawWords(s: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (!quote && /\s/.test(ch)) {
      if (word) words.push(word);
      word = '';
      continue;
    }
    word += ch;
    if (ch === escape && i + 1 < s.length && quote !== "'") word += s[++i];
    else if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
  }
  if (word) words.push(word);
  return words;
}
