// Runs a real `vitest run` on a throwaway project (test files written into `dir`) with the harness vitest reporter,
// the way `npm test` runs it, through the package's public vitest entry modules (api/, by absolute path: the
// throwaway project has no node_modules/vm-harness).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const REPO = resolve(import.meta.dirname, '..', '..');
/** What 'vm-harness/vitest' is (api/vitest.ts), for `import { useScenario } from '${SCENARIO_FIXTURE}'` in a temp test. */
export const SCENARIO_FIXTURE = join(REPO, 'api', 'vitest.ts');

export interface VitestRun {
  exitCode: number | undefined;
  /** stdout and stderr, for assertion messages. */
  output: string;
}

export async function runVitest(dir: string, files: Record<string, string>, env: Record<string, string>): Promise<VitestRun> {
  writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { globals: true, include: ['*.test.ts'], hookTimeout: 600000, fileParallelism: false } };\n`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const r = await execa(
    'npx',
    ['vitest', 'run', '--root', dir, '--config', join(dir, 'vitest.config.mjs'), '--reporter=dot', `--reporter=${join(REPO, 'api', 'vitest-reporter.ts')}`],
    { cwd: REPO, env: { NO_COLOR: '1', ...env }, reject: false, timeout: 900_000, all: true },
  );
  return { exitCode: r.exitCode, output: String(r.all ?? '') };
}
