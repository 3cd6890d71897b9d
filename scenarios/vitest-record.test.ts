// `npm test` of a suite using useScenario, end to end: a real `vitest run` with the harness reporter on a tiny suite
// that boots scenarios/smoke.yaml (real qemu). The suite's run is in the database like a `harness run` (machine,
// status timeline, console tail), with one step per test, and the reporter's run for the file links to it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { harnessPaths } from '../harness/paths.js';
import { runVitest, SCENARIO_FIXTURE } from '../reporters/testing/run-vitest.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harness-vitest-record-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const SECRET = 'hunter2-swordfish';

test('a useScenario suite run by vitest records its VM, timeline, console and tests, linked from the file run', async () => {
  const dbPath = join(dir, 'h.db');
  const res = await runVitest(
    dir,
    {
      'smoke-suite.test.ts': [
        `import { useScenario } from ${JSON.stringify(SCENARIO_FIXTURE)};`,
        `const env = useScenario(${JSON.stringify(resolve('scenarios/smoke.yaml'))});`,
        `test('kernel', async () => { expect(await env.vm('server').succeed('uname -s')).toContain('Linux'); });`,
        `test('fails on purpose', async () => { expect(await env.vm('server').succeed('echo password=${SECRET}')).toBe('nope'); });`,
        `test.skip('later', () => {});`,
      ].join('\n'),
    },
    // Share the project's image cache and key; the record goes to a database of this test's own.
    { HARNESS_DB: dbPath, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys, HARNESS_VMS_DIR: join(dir, 'vms') },
  );
  expect(res.exitCode, res.output).toBe(1); // one test fails on purpose

  const db = new Database(dbPath, { readonly: true });
  try {
    const runs = db.prepare('SELECT id, scenario, file, status, exit_code AS exitCode, error, options FROM runs').all() as Array<{ id: string; scenario: string; options: string }>;
    const fileRun = runs.find((r) => r.scenario === 'smoke-suite');
    const run = runs.find((r) => r.scenario === 'smoke');
    expect(runs, res.output).toHaveLength(2);
    expect(run).toMatchObject({ status: 'failed', exitCode: 1, error: '1 of 3 tests failed: fails on purpose' });
    expect(JSON.parse(run!.options)).toMatchObject({ teardown: 'destroy', runner: 'vitest', testFile: 'smoke-suite.test.ts' });
    expect(JSON.parse(fileRun!.options)).toMatchObject({ runner: 'vitest', scenarioRuns: [run!.id] });
    const id = run!.id;

    expect(db.prepare('SELECT name, provider, status FROM vms WHERE run_id = ?').all(id)).toEqual([{ name: 'server', provider: 'qemu', status: 'NotCreated' }]);
    const statuses = (db.prepare(`SELECT details FROM vm_events WHERE run_id = ? AND type = 'StatusChanged' ORDER BY id`).all(id) as Array<{ details: string }>)
      .map((e) => JSON.parse(e.details) as { from: string; to: string })
      .map((d) => `${d.from}->${d.to}`);
    expect(statuses).toEqual(['Stopped->Starting', 'Starting->Running', 'Running->Stopping', 'Stopping->NotCreated']);
    const console = db.prepare(`SELECT line FROM command_logs WHERE run_id = ? AND vm = 'server' AND stream = 'console'`).pluck().all(id);
    expect(console).toContain('harness-tiny: starting dropbear on port 22');
    expect(db.prepare(`SELECT kind FROM artifacts WHERE run_id = ?`).pluck().all(id)).toContain('console-log');

    const steps = db.prepare('SELECT name, target, status, error FROM steps WHERE run_id = ? ORDER BY idx').all(id);
    expect(steps).toEqual([
      { name: 'kernel', target: 'vitest', status: 'passed', error: null },
      { name: 'fails on purpose', target: 'vitest', status: 'failed', error: expect.stringContaining('password=[REDACTED]') },
      { name: 'later', target: 'vitest', status: 'skipped', error: null },
    ]);
    // The secret the failing test printed is nowhere in the database.
    for (const table of db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]) {
      expect(JSON.stringify(db.prepare(`SELECT * FROM "${table}"`).all()), table).not.toContain(SECRET);
    }

    const show = async (runId: string) => (await execa('node', ['bin/harness.js', 'runs', 'show', runId, '--db', dbPath], { env: { NO_COLOR: '1' } })).stdout;
    expect(await show(fileRun!.id)).toContain(`scenario runs  ${id}`);
    const shown = await show(id);
    expect(shown).toContain(`vitest    smoke-suite.test.ts   the file's run: ${fileRun!.id}`);
    expect(shown).toMatch(/server .*Starting -> Running/);
  } finally {
    db.close();
  }
}, 900_000);

test("the scenario file's own keep-on-failure keeps the suite's VM and its state dir when a test fails", async () => {
  const sub = await mkdtemp(join(dir, 'kof-'));
  const dbPath = join(sub, 'h.db');
  const scenario = join(sub, 'kof.yaml');
  await writeFile(scenario, `name: kof\nvms:\n  box: { image: { builder: tiny }, memory: 256M, accel: tcg }\nteardown: keep-on-failure\n`);
  const res = await runVitest(
    sub,
    {
      'kof-suite.test.ts': [
        `import { useScenario } from ${JSON.stringify(SCENARIO_FIXTURE)};`,
        `const env = useScenario(${JSON.stringify(scenario)});`,
        `test('fails on purpose', async () => { expect(await env.vm('box').succeed('echo here')).toBe('nope'); });`,
      ].join('\n'),
    },
    { HARNESS_DB: dbPath, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys },
  );
  expect(res.exitCode, res.output).toBe(1);
  const db = new Database(dbPath, { readonly: true });
  const vm = db.prepare(`SELECT dir FROM vms WHERE name = 'box'`).get() as { dir: string } | undefined;
  db.close();
  expect(vm?.dir, res.output).toBeTruthy();
  const vmsDir = dirname(vm!.dir);
  const env = { HARNESS_VMS_DIR: vmsDir, NO_COLOR: '1' };
  try {
    // Kept: the VM still answers, and its state dir (the suite's vms/) was not removed under it.
    const status = await execa('node', ['bin/harness.js', 'vm', 'status', 'box', '--json'], { env, reject: false });
    expect(JSON.parse(status.stdout).status, status.stderr).toBe('Running');
    const ssh = await execa('node', ['bin/harness.js', 'vm', 'ssh', 'box', '--', 'echo', 'still-here'], { env, reject: false });
    expect(ssh.stdout.trim(), ssh.stderr).toBe('still-here');
  } finally {
    await execa('node', ['bin/harness.js', 'vm', 'clean', 'box'], { env, reject: false });
    await rm(vmsDir, { recursive: true, force: true });
  }
}, 900_000);
