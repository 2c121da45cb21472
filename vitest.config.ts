import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/build-dist.ts', 'test/helpers/scratch.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    // QEMU boots use a whole core each: two files at a time on this 2-core machine
    maxWorkers: 2,
  },
});
