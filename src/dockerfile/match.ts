// Path patterns: Go's filepath.Match (pkg.go.dev/path/filepath#Match) for COPY/ADD
// wildcard sources, and .dockerignore patterns (Dockerfile reference ".dockerignore
// file"; moby/patternmatcher as BuildKit uses it): filepath.Match plus `**` for any
// number of folders, `!` exceptions, the last matching line wins, and a pattern that
// matches a parent folder matches everything below it.

function escapeRe(ch: string): string {
  return /[.+^${}()|[\]\\*?]/.test(ch) ? `\\${ch}` : ch;
}

/** A Go character class `[...]` at p[i] (i at '['), as a regex class; returns [regex, next index]. */
function charClass(p: string, i: number): [string, number] {
  let j = i + 1;
  let out = '[';
  if (p[j] === '^') {
    out += '^';
    j++;
  }
  let first = true;
  for (; j < p.length && (p[j] !== ']' || first); j++) {
    first = false;
    if (p[j] === '\\' && j + 1 < p.length) out += escapeRe(p[++j]);
    else out += p[j] === '-' ? '-' : escapeRe(p[j]);
  }
  if (j >= p.length) throw new Error(`syntax error in pattern "${p}": unclosed [`);
  return [`(?!/)${out}]`, j + 1];
}

/** A pattern as an anchored regex source; `globstar` turns on `**`. */
function patternSource(p: string, globstar: boolean): string {
  let re = '';
  for (let i = 0; i < p.length;) {
    const ch = p[i];
    if (ch === '*' && globstar && p[i + 1] === '*') {
      while (p[i] === '*') i++;
      if (i >= p.length) re += '.*';
      else if (p[i] === '/') {
        re += '(.*/)?';
        i++;
      } else re += '.*';
      continue;
    }
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const [cls, next] = charClass(p, i);
      re += cls;
      i = next;
      continue;
    } else if (ch === '\\' && i + 1 < p.length) re += escapeRe(p[++i]);
    else re += escapeRe(ch);
    i++;
  }
  return `^${re}$`;
}

/** Go filepath.Match(pattern, name) on "/"-separated paths. */
export function goMatch(pattern: string, name: string): boolean {
  return new RegExp(patternSource(pattern, false), 's').test(name);
}

export function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

/** path.Clean for "/"-separated relative paths ("" and "." become "."). */
export function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!p.startsWith('/')) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return p.startsWith('/') ? `/${joined}` : joined || '.';
}

interface IgnoreRule {
  re: RegExp;
  exception: boolean;
}

export interface IgnoreMatcher {
  /** true when the context path (relative, "/"-separated) is excluded */
  excludes(path: string): boolean;
  /** true when some `!` rule exists (then excluded folders must still be walked) */
  hasExceptions: boolean;
}

/** The rules of a .dockerignore file. */
export function parseDockerignore(text: string): IgnoreMatcher {
  const rules: IgnoreRule[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    let p = cleanPath(line);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    if (p === '.' || p === '/') continue;
    rules.push({ re: new RegExp(patternSource(p, true), 's'), exception });
  }
  return {
    hasExceptions: rules.some((r) => r.exception),
    excludes(path: string): boolean {
      const parts = path.split('/');
      let matched = false;
      for (const r of rules) {
        if (r.exception !== matched) continue;
        let m = r.re.test(path);
        for (let i = 1; !m && i < parts.length; i++) m = r.re.test(parts.slice(0, i).join('/'));
        if (m) matched = !r.exception;
      }
      return matched;
    },
  };
}
