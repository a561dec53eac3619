import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One packed-and-installed consumer app per run, for test/runtimes/ and test/size-budget.test.ts.
    globalSetup: ['test/runtimes/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
