import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code; suites that boot real machines live in scenarios/.
// Real-VM suites run one file at a time (2 cores, TCG) and get long timeouts.
export default defineConfig({
  test: {
    include: ['{harness,iso,fixtures,reporters,bench}/**/*.test.ts', 'scenarios/**/*.test.ts'],
    exclude: ['node_modules/**', 'vms/**', '.harness/**'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    globalSetup: ['fixtures/global-setup.ts'],
    // Suites run by `npm test` are recorded in the same SQLite store as `harness run` (vms/harness.db).
    reporters: ['default', './reporters/vitest-reporter.ts'],
  },
});
