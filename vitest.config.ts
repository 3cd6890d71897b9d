import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const api = fileURLToPath(new URL('./api/', import.meta.url));

// Unit tests sit next to the code; suites that boot real machines live in scenarios/.
// Real-VM suites run one file at a time (2 cores, TCG) and get long timeouts.
export default defineConfig({
  // Tests import the package by name, as a user does: here the names resolve to the entry modules' sources
  // (tsconfig.json's paths say the same for the typecheck); the published package maps them to dist/.
  resolve: {
    alias: [
      { find: /^vm-harness$/, replacement: `${api}index.ts` },
      { find: /^vm-harness\/(.+)$/, replacement: `${api}$1.ts` },
    ],
  },
  test: {
    include: ['{api,bin,harness,iso,fixtures,reporters,bench}/**/*.test.ts', 'scenarios/**/*.test.ts'],
    exclude: ['node_modules/**', 'vms/**', '.harness/**', 'dist/**'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    globalSetup: ['fixtures/global-setup.ts'],
    // Suites run by `npm test` are recorded in the same SQLite store as `harness run` (vms/harness.db).
    reporters: ['default', './reporters/vitest-reporter.ts'],
  },
});
