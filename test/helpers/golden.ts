// golden/examples.sha256: the expected sha256 of every example artifact, by file name
// (a manifest.json's with its folder written as /BUILD: see manifestSha).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const golden: Record<string, string> = Object.fromEntries(
  readFileSync(new URL('../../golden/examples.sha256', import.meta.url), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/).reverse()),
);

/**
 * sha256 of a manifest.json with its own folder written as /BUILD: manifest.json names the
 * artifact by its absolute path, so only that prefix differs between build folders.
 */
export function manifestSha(file: string): string {
  const text = readFileSync(file, 'utf8').replaceAll(`"${dirname(file)}/`, '"/BUILD/');
  return createHash('sha256').update(text).digest('hex');
}
