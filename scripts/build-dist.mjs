#!/usr/bin/env node
// Builds what the npm package ships, into dist/ (run by `npm pack` and `npm publish` through prepack):
//   dist/{index,vitest,vitest-reporter,vitest-setup,cli}.js  one esbuild pass with code splitting (dist/chunks/),
//     so the entry points share one copy of each module (a ScenarioError from useScenario is the class
//     'vm-harness' exports); dependencies stay external (installed beside the package);
//   dist/types/  tsc declarations of the api/ entry modules and everything they name.
// Plain JavaScript because a consumer's `npx vitest` (Node 20, no type stripping; vitest does not transform
// node_modules) and `npx harness` must run without a TypeScript loader and write nothing into node_modules.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    index: 'api/index.ts',
    vitest: 'api/vitest.ts',
    'vitest-reporter': 'api/vitest-reporter.ts',
    'vitest-setup': 'api/vitest-setup.ts',
    cli: 'harness/cli/main.ts',
  },
  outdir: dist,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.stdout.write(`built ${dist}\n`);
