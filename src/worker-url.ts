// Where a compiled worker_threads module is. Workers run compiled JavaScript: beside
// the calling module when that runs from dist/, else the copy in dist/ (when the caller
// runs from the TypeScript sources, as in the tests).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `file` relative to src/ (e.g. 'squashfs/worker.js'); `from` the caller's import.meta.url. */
export function compiledWorker(from: string, file: string): URL {
  const here = new URL(file.slice(file.lastIndexOf('/') + 1), from);
  if (existsSync(fileURLToPath(here))) return here;
  const dist = new URL(`../../dist/${file}`, from);
  if (existsSync(fileURLToPath(dist))) return dist;
  throw new Error(`no compiled worker at ${fileURLToPath(here)} or ${fileURLToPath(dist)}; run npm run build`);
}
