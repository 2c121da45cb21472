// The Dockerfile parser, per the Dockerfile reference (docs.docker.com/reference/dockerfile,
// "Format", "Parser directives", "Here-Documents") and BuildKit's parser
// (moby/buildkit frontend/dockerfile/parser): parser directives at the top (`# escape=`,
// `# syntax=`, `# check=`), comment lines, line continuations with the escape character
// (comment and empty lines inside a continuation are dropped), leading whitespace
// ignored, keywords case-insensitive, `--name=value` flags, JSON (exec) and shell forms,
// and here-documents (`<<EOF`, `<<-EOF`, `<<"EOF"`) for RUN, COPY and ADD.
import { DockerfileError } from './errors.js';

export interface Heredoc {
  name: string;
  content: string;
  /** false when the word was quoted (`<<"EOF"`): no variable expansion in the body */
  expand: boolean;
}

export interface Flag {
  name: string;
  /** undefined for a bare `--flag` */
  value?: string;
}

export interface Instruction {
  /** the keyword, upper case */
  cmd: string;
  /** 1-based line of the keyword */
  line: number;
  flags: Flag[];
  /** the text after the keyword and its flags, continuations joined */
  rest: string;
  /** the exec form's words, when `rest` is a JSON array of strings */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Dockerfile {
  escape: string;
  instructions: Instruction[];
  warnings: string[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_CMDS = new Set(['RUN', 'COPY', 'ADD']);
const FLAG_CMDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);

/** Reads the directives at the top; returns the escape character and where instructions start. */
function directives(lines: string[], file: string, warnings: string[]): { escape: string; start: number } {
  let escape = '\\';
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (seen.has(key)) throw new DockerfileError(file, i + 1, `the parser directive "${key}" is given twice; keep one`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`')
        throw new DockerfileError(file, i + 1, `escape=${m[2]}: the escape character must be \\ or \``);
      escape = m[2];
    } else if (key === 'syntax') {
      warnings.push(`${file}:${i + 1}: # syntax=${m[2]} ignored: fledge-pure has its own Dockerfile frontend`);
    }
  }
  return { escape, start: i };
}

const isComment = (l: string) => /^\s*#/.test(l);
const isBlank = (l: string) => /^\s*$/.test(l);

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const warnings: string[] = [];
  const { escape, start } = directives(lines, file, warnings);
  const continuation = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: Instruction[] = [];
  let i = start;
  while (i < lines.length) {
    if (isBlank(lines[i]) || isComment(lines[i])) {
      i++;
      continue;
    }
    const line = i + 1;
    let text = '';
    let cur = lines[i++].replace(/^\s+/, '');
    while (continuation.test(cur) && i < lines.length) {
      text += cur.replace(continuation, '');
      while (i < lines.length && (isComment(lines[i]) || isBlank(lines[i]))) i++;
      cur = i < lines.length ? lines[i++].replace(/^\s+/, '') : '';
    }
    text += continuation.test(cur) ? cur.replace(continuation, '') : cur;
    const inst = instruction(text, line, file);
    if (HEREDOC_CMDS.has(inst.cmd)) i = readHeredocs(inst, lines, i, file);
    instructions.push(inst);
  }
  return { escape, instructions, warnings };
}

function instruction(text: string, line: number, file: string): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const cmd = m[1].toUpperCase();
  let rest = m[2].trim();
  const flags: Flag[] = [];
  if (FLAG_CMDS.has(cmd)) {
    for (;;) {
      const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=("[^"]*"|'[^']*'|\S*))?(?:\s+|$)/.exec(rest);
      if (!f) break;
      flags.push({ name: f[1], value: f[2] === undefined ? undefined : unquote(f[2]) });
      rest = rest.slice(f[0].length);
    }
  } else if (/^--[a-zA-Z]/.test(rest) && !['CMD', 'ENTRYPOINT', 'SHELL'].includes(cmd)) {
    throw new DockerfileError(file, line, `${cmd} takes no --flags (got "${rest.split(/\s/)[0]}"); remove it`);
  }
  return { cmd, line, flags, rest, json: jsonForm(rest), heredocs: [] };
}

function unquote(v: string): string {
  return /^(["']).*\1$/.test(v) ? v.slice(1, -1) : v;
}

/** The words of a JSON array of strings; undefined when rest is not one (then it is shell form). */
function jsonForm(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    return Array.isArray(v) && v.every((w) => typeof w === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const HEREDOC_WORD = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

/** Reads the bodies of the instruction's here-documents from the lines after it; returns the next line index. */
function readHeredocs(inst: Instruction, lines: string[], i: number, file: string): number {
  if (inst.json) return i;
  for (const m of inst.rest.matchAll(HEREDOC_WORD)) {
    const [, dash, quote, name] = m;
    const body: string[] = [];
    for (;;) {
      if (i >= lines.length)
        throw new DockerfileError(
          file,
          inst.line,
          `here-document <<${name} has no closing "${name}" line; end it with a line holding just ${name}`,
        );
      let l = lines[i++];
      if (dash) l = l.replace(/^\t+/, '');
      if (l === name) break;
      body.push(l);
    }
    inst.heredocs.push({ name, content: body.map((l) => l + '\n').join(''), expand: quote === '' });
  }
  return i;
}
