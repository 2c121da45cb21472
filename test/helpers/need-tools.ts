// Global setup: when the integration layer is in the run, with CI set a missing tool fails
// the run (CI installs every one, so one missing is a broken CI); without CI, the files
// that need it were left out by vitest.config.ts and this prints the one line saying so.
// The same for Node 22 and 24 (node-versions.ts): their tests skip outside CI.
import type { TestProject } from 'vitest/node';
import { missingNodes, missingNodesLine } from './node-versions.js';
import { skipLine, toolCheck } from './tools.js';

export default function setup(project: TestProject): void {
  if (!project.vitest.projects.some((p) => p.name === 'integration')) return;
  const nodes = missingNodes();
  if (nodes.length > 0 && process.env.CI) throw new Error(`CI: ${missingNodesLine(nodes)}`);
  if (nodes.length > 0) console.log(missingNodesLine(nodes));
  const { missing } = toolCheck();
  if (missing.size === 0) return;
  if (process.env.CI) throw new Error(`CI: ${skipLine(missing).replace(/^skipped/, 'would skip')}`);
  console.log(skipLine(missing));
}
