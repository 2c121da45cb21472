// golden/examples.sha256: the expected sha256 of every example artifact, by file name.
import { readFileSync } from 'node:fs';

export const golden: Record<string, string> = Object.fromEntries(
  readFileSync(new URL('../../golden/examples.sha256', import.meta.url), 'utf8').trim().split('\n').map((l) => l.split(/\s+/).reverse()),
);
