// Runs a real `vitest run` on two tiny test files with this reporter and reads the runs back from the database.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runVitest, SCENARIO_FIXTURE } from './testing/run-vitest.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-vitest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('records one run per test file and one step per test case', async () => {
  writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { globals: true, include: ['*.test.ts'] } };\n`);
  writeFileSync(
    join(dir, 'math.test.ts'),
    `describe('math', () => {\n  test('adds', () => { expect(1 + 1).toBe(2); });\n  test('fails', () => { expect(1 + 1).toBe(3); });\n  test.skip('later', () => {});\n});\n`,
  );
  writeFileSync(join(dir, 'ok.test.ts'), `test('ok', () => { expect(true).toBe(true); });\n`);
  const dbPath = join(dir, 'h.db');
  const res = await execa(
    'npx',
    ['vitest', 'run', '--root', dir, '--config', join(dir, 'vitest.config.mjs'), '--reporter=dot', `--reporter=${join(import.meta.dirname, 'vitest-reporter.ts')}`],
    { cwd: process.cwd(), env: { HARNESS_DB: dbPath }, reject: false },
  );
  expect(res.exitCode, res.stdout + res.stderr).toBe(1); // one test fails on purpose

  const db = new Database(dbPath, { readonly: true });
  const runs = db.prepare('SELECT id, scenario, file, status, exit_code AS exitCode FROM runs ORDER BY scenario').all() as Array<Record<string, unknown>>;
  expect(runs.map(({ id: _id, ...r }) => r)).toEqual([
    { scenario: 'math', file: 'math.test.ts', status: 'failed', exitCode: 1 },
    { scenario: 'ok', file: 'ok.test.ts', status: 'passed', exitCode: 0 },
  ]);
  const steps = db.prepare(`SELECT s.name, s.status, s.error FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.scenario = 'math' ORDER BY s.idx`).all();
  expect(steps).toEqual([
    { name: 'math > adds', status: 'passed', error: null },
    { name: 'math > fails', status: 'failed', error: expect.stringContaining('expected 2 to be 3') },
    { name: 'math > later', status: 'skipped', error: null },
  ]);
  db.close();
}, 60_000);

it('a suite whose scenario cannot boot records a failed scenario run, linked from the file run, and closes the recorder', async () => {
  const dbPath = join(dir, 'h.db');
  // The hooks around useScenario's see whether it left the recorder open (it removes its exit listener on close).
  const res = await runVitest(
    dir,
    {
      'broken.test.ts': [
        `import { writeFileSync } from 'node:fs';`,
        `import { useScenario } from ${JSON.stringify(SCENARIO_FIXTURE)};`,
        `let listeners = 0;`,
        `beforeAll(() => { listeners = process.listenerCount('exit'); });`,
        `afterAll(() => { writeFileSync(${JSON.stringify(join(dir, 'leaked.txt'))}, String(process.listenerCount('exit') - listeners)); });`,
        `describe('needs a vm', () => {`,
        `  useScenario(${JSON.stringify(join(dir, 'missing.yaml'))});`,
        `  test('uses it', () => {});`,
        `});`,
      ].join('\n'),
    },
    { HARNESS_DB: dbPath },
  );
  expect(res.exitCode, res.output).toBe(1);
  expect(readFileSync(join(dir, 'leaked.txt'), 'utf8')).toBe('0');

  const db = new Database(dbPath, { readonly: true });
  try {
    const runs = db.prepare('SELECT id, scenario, status, exit_code AS exitCode, error, options FROM runs ORDER BY started_at, id').all() as Array<{ id: string; scenario: string; options: string }>;
    expect(runs).toHaveLength(2);
    const [file, scenario] = [runs.find((r) => r.scenario === 'broken')!, runs.find((r) => r.scenario === 'missing')!];
    expect(scenario).toMatchObject({ status: 'failed', exitCode: 2, error: expect.stringMatching(/^the scenario did not boot: .*missing\.yaml/) });
    expect(JSON.parse(scenario.options)).toMatchObject({ runner: 'vitest', testFile: 'broken.test.ts', suite: 'needs a vm' });
    expect(file).toMatchObject({ status: 'failed', error: expect.stringContaining('missing.yaml') });
    expect(JSON.parse(file.options)).toMatchObject({ runner: 'vitest', scenarioRuns: [scenario.id] });
    const steps = db.prepare('SELECT name, target, status FROM steps WHERE run_id = ?').all(scenario.id);
    expect(steps).toEqual([{ name: 'needs a vm > uses it', target: 'vitest', status: 'skipped' }]);
    // `harness runs show` of either names the other.
    const show = async (id: string) => (await execa('node', ['bin/harness.js', 'runs', 'show', id, '--db', dbPath], { env: { NO_COLOR: '1' } })).stdout;
    expect(await show(file.id)).toContain(`scenario runs  ${scenario.id}`);
    expect(await show(scenario.id)).toContain(`vitest    broken.test.ts > needs a vm   the file's run: ${file.id}`);
  } finally {
    db.close();
  }
}, 120_000);
