// The Dockerfile parser, variable substitution and path patterns, case by case from the
// Dockerfile reference (its own examples where it gives them), Go's filepath.Match
// documentation and moby/patternmatcher's rules.
import { describe, expect, it } from 'vitest';
import { expandHeredoc, expandWord, expandWords } from '../../src/dockerfile/lex.js';
import { goMatch, parseDockerignore } from '../../src/dockerfile/match.js';
import { parseDuration } from '../../src/dockerfile/metadata.js';
import { parseDockerfile } from '../../src/dockerfile/parse.js';

const env = new Map([
  ['A', 'a'],
  ['EMPTY', ''],
  ['SP', 'x y'],
]);

describe('Dockerfile parser', () => {
  it('reads directives, comments, continuations, flags, JSON and shell forms with their lines', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        '# escape=`',
        '',
        '# a comment',
        'from --platform=linux/amd64 alpine AS build',
        'RUN echo one `',
        '  # comment inside',
        '',
        '  two',
        'COPY --chown=1:2 --link ["a b", "/c"]',
        '   CMD ["x", "y"]',
        'ENTRYPOINT [not json',
      ].join('\n'),
    );
    expect(df.escape).toBe('`');
    expect(df.warnings).toEqual([
      'Dockerfile:1: # syntax=docker/dockerfile:1 ignored: fledge-pure has its own Dockerfile frontend',
    ]);
    const [from, run, copy, cmd, ep] = df.instructions;
    expect(from).toMatchObject({
      cmd: 'FROM',
      line: 5,
      flags: [{ name: 'platform', value: 'linux/amd64' }],
      rest: 'alpine AS build',
    });
    expect(run).toMatchObject({ cmd: 'RUN', line: 6, rest: 'echo one two' });
    expect(copy).toMatchObject({
      line: 10,
      flags: [
        { name: 'chown', value: '1:2' },
        { name: 'link', value: undefined },
      ],
      json: ['a b', '/c'],
    });
    expect(cmd).toMatchObject({ line: 11, json: ['x', 'y'] });
    expect(ep.json).toBeUndefined();
  });

  it('stops reading directives at the first other line, and rejects a directive given twice', () => {
    expect(parseDockerfile('FROM a\n# escape=`\nRUN x \\\n y').escape).toBe('\\');
    expect(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a')).toThrow(
      'Dockerfile:2: the parser directive "escape" is given twice',
    );
    expect(() => parseDockerfile('# escape=x\nFROM a')).toThrow('Dockerfile:1: escape=x');
  });

  it('reads here-documents: several per instruction, <<- strips tabs, a quoted word does not expand', () => {
    const df = parseDockerfile(
      'FROM a\nRUN <<EOF cat - <<-"TWO"\nline $A\nEOF\n\tindented\n\tTWO\nCOPY <<X /dest\n# not a comment\nX\nUSER 1',
    );
    const [, run, copy, user] = df.instructions;
    expect(run.heredocs).toEqual([
      { name: 'EOF', content: 'line $A\n', expand: true },
      { name: 'TWO', content: 'indented\n', expand: false },
    ]);
    expect(copy.heredocs).toEqual([{ name: 'X', content: '# not a comment\n', expand: true }]);
    expect(user).toMatchObject({ cmd: 'USER', line: 10 });
    expect(() => parseDockerfile('FROM a\nRUN <<EOF\nno end')).toThrow(
      'Dockerfile:2: here-document <<EOF has no closing "EOF" line',
    );
  });

  it('refuses flags where an instruction takes none', () => {
    expect(() => parseDockerfile('FROM a\nENV --x=1 A=b')).toThrow('Dockerfile:2: ENV takes no --flags');
  });
});

describe('variable substitution', () => {
  it('follows the reference: $A ${A} ${A:-x} ${A-x} ${A:+x} ${A+x}, quotes, escapes', () => {
    expect(expandWord('$A ${A}_${A:-z}', env)).toBe('a a_a');
    expect(expandWord('${EMPTY:-dflt}|${EMPTY-dflt}|${UNSET-dflt}', env)).toBe('dflt||dflt');
    expect(expandWord('${A:+set}|${EMPTY:+set}|${EMPTY+set}|${UNSET+set}', env)).toBe('set||set|');
    expect(expandWord('\'$A\' "$A" \\$A', env)).toBe('$A a $A');
    expect(expandWord('"a \\"q\\" \\x"', env)).toBe('a "q" \\x');
    expect(expandWord('$ ${A:-${SP}}', env)).toBe('$ a');
    expect(expandWord('${UNSET:-${SP}}', env)).toBe('x y');
    expect(() => expandWord('${A:?}', new Map())).toThrow('A: is not set');
    expect(() => expandWord('${A%x}', env)).toThrow('unsupported modifier');
    expect(() => expandWord('"open', env)).toThrow('unmatched double quote');
  });

  it('splits words on unquoted whitespace, also inside expanded values', () => {
    expect(expandWords('a "b c" $SP "" \'d e\'', env)).toEqual(['a', 'b c', 'x', 'y', '', 'd e']);
    expect(expandHeredoc('say "$A" \'$A\' \\n\n', env)).toBe('say "a" \'a\' \\n\n');
  });

  it('reads Go durations for HEALTHCHECK', () => {
    expect(parseDuration('1m30s')).toBe(90e9);
    expect(parseDuration('500ms')).toBe(5e8);
    expect(() => parseDuration('5')).toThrow('not a duration');
  });
});

describe('path patterns', () => {
  it('matches as Go filepath.Match', () => {
    expect(goMatch('*.txt', 'a.txt')).toBe(true);
    expect(goMatch('*.txt', 'd/a.txt')).toBe(false);
    expect(goMatch('a?c', 'abc')).toBe(true);
    expect(goMatch('[a-c]x', 'bx')).toBe(true);
    expect(goMatch('[^a-c]x', 'bx')).toBe(false);
    expect(goMatch('\\*', '*')).toBe(true);
    expect(goMatch('\\*', 'a')).toBe(false);
  });

  it('excludes as .dockerignore: **, parents, ! exceptions, the last match wins, leading / and comments', () => {
    const m = parseDockerignore('# c\n/*.log\n**/*.tmp\nbuild\n!build/keep\ndocs/**\n!docs/**/*.md\n  spaced  \n');
    expect(m.excludes('x.log')).toBe(true);
    expect(m.excludes('d/x.log')).toBe(false);
    expect(m.excludes('a/b/c.tmp')).toBe(true);
    expect(m.excludes('c.tmp')).toBe(true);
    expect(m.excludes('build/out')).toBe(true);
    expect(m.excludes('build/keep')).toBe(false);
    expect(m.excludes('docs/a/b.txt')).toBe(true);
    expect(m.excludes('docs/a/b.md')).toBe(false);
    expect(m.excludes('spaced')).toBe(true);
    expect(m.hasExceptions).toBe(true);
  });
});
