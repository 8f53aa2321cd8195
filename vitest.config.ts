import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Real files and subprocesses: keep parallelism modest on 2-core machines.
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
