// Runs a real `vitest run` on two tiny test files with this reporter and reads the runs back from the database.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, it } from 'vitest';

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
