// The table of tools per integration test file (test/helpers/tools.ts) is what decides
// which files run outside CI: every test file is in exactly one layer, every tool named
// has a Debian package, and every command a file or its helpers start is in its row.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PACKAGE, TOOLS } from '../helpers/tools.js';

/** Part of every Debian system (sh, coreutils, tar, gzip, util-linux, bsdutils) or of Node. */
const ESSENTIAL = new Set(
  'sh bash sha256sum tar gzip dd truncate ln ls mkdir rm cat mount umount mknod mkfifo touch ldd diff node npm npx script unshare setpriv'.split(
    ' ',
  ),
);

/** Commands a source file starts: the quoted first argument of execFileSync, execFile, spawnSync, spawn, run. */
function commands(src: string): string[] {
  return [...src.matchAll(/(?:execFileSync|execFile|spawnSync|spawn|run)\(\s*['"]([a-z0-9_.-]+)['"]/g)].map(
    (m) => m[1]!,
  );
}

function helpers(src: string): string[] {
  return [...src.matchAll(/from '\.\.?\/(?:helpers\/)?([a-z0-9-]+)\.js'/g)].map((m) => m[1]!);
}

function started(file: string, seen = new Set<string>()): Set<string> {
  const src = readFileSync(file, 'utf8');
  const out = new Set(commands(src));
  for (const h of helpers(src)) {
    if (seen.has(h)) continue;
    seen.add(h);
    for (const c of started(`test/helpers/${h}.ts`, seen)) out.add(c);
  }
  return out;
}

describe('the tools table', () => {
  const integration = readdirSync('test').filter((n) => n.endsWith('.test.ts'));
  const unit = readdirSync('test/unit').filter((n) => n.endsWith('.test.ts'));

  it('lists every integration test file and no unit one', () => {
    expect(Object.keys(TOOLS).sort()).toEqual(integration.sort());
    expect(unit.filter((f) => f in TOOLS)).toEqual([]);
  });

  it('names a Debian package for every tool', () => {
    expect(
      Object.values(TOOLS)
        .flat()
        .filter((t) => !PACKAGE[t]),
    ).toEqual([]);
  });

  it('holds every command a test file or its helpers start', () => {
    const missing = integration.flatMap((f) =>
      [...started(`test/${f}`)].filter((c) => !ESSENTIAL.has(c) && !TOOLS[f]!.includes(c)).map((c) => `${f}: ${c}`),
    );
    expect(missing).toEqual([]);
  });

  it('unit files start no command', () => {
    const starting = unit.flatMap((f) => [...started(`test/unit/${f}`)].map((c) => `${f}: ${c}`));
    expect(starting).toEqual([]);
  });
});
