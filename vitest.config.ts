// Two layers (README "Tests"): `unit` — in-process known-answer and property tests,
// seconds, no root, no external tool (`npm run test:unit`); `integration` — every real
// oracle (e2fsck, unsquashfs, the kernel in QEMU, umoci, the registry...). `npm test` runs
// both. Outside CI a file whose tools are missing is left out (test/helpers/tools.ts; one
// summary line says what to install); with CI set a missing tool fails the run.
import { defineConfig } from 'vitest/config';
import { runTmpdir } from './test/helpers/scratch.js';
import { TOOLS, toolCheck } from './test/helpers/tools.js';

// before vitest makes its temp folders (per project, under TMPDIR)
runTmpdir();

const skipped = process.env.CI ? [] : Object.keys(TOOLS).filter((f) => !toolCheck().runnable.includes(f));

export default defineConfig({
  test: {
    // one TMPDIR for the run, the check that nothing was written outside it, the tool check
    globalSetup: ['test/helpers/scratch.ts', 'test/helpers/outside.ts', 'test/helpers/need-tools.ts'],
    // QEMU boots use a whole core each: two files at a time on this 2-core machine
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/*.test.ts'],
          exclude: skipped.map((f) => `test/${f}`),
          globalSetup: ['test/helpers/build-dist.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
