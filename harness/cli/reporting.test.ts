// What `harness run` wires to its bus, on real files: the recorder's command_logs cap from --log-lines /
// HARNESS_LOG_LINES / harness.config.yaml, and the report files recorded as artifacts that `runs show` lists.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../events.js';
import { harnessPaths } from '../paths.js';
import type { Plan } from '../plan.js';
import type { CliIo } from './command.js';
import { UsageError } from './command.js';
import { runCommand } from './commands/run.js';
import { runsCommand } from './commands/runs.js';
import { attachReporters } from './reporting.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-reporting-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const dbPath = () => join(dir, 'vms', 'harness.db');

function io(env: NodeJS.ProcessEnv = {}): CliIo & { text: () => string } {
  let text = '';
  const write = (s: string) => void (text += s);
  return { out: write, err: write, env: { HARNESS_PROJECT_DIR: dir, ...env }, cwd: dir, isTTY: false, text: () => text };
}

/** One run through attachReporters, as `harness run` does it: `lines` console lines for VM web. */
async function run(o: { runId: string; lines?: number; env?: NodeJS.ProcessEnv; logLines?: number; spec?: string; start?: boolean }): Promise<void> {
  const cli = io(o.env);
  const bus = new EventBus(o.runId);
  const reporting = await attachReporters(bus, {
    spec: 'spec' in o ? o.spec : 'json:out/run.json', json: false, io: cli, paths: harnessPaths(cli.env, cli.cwd), plan: {} as Plan, logLines: o.logLines,
  });
  if (o.start !== false) bus.emit({ type: 'run.started', scenario: 's', file: 'f.yaml', host: 'h', options: {} });
  for (let i = 0; i < (o.lines ?? 0); i++) bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: `line ${i}` });
  bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 5 });
  await reporting.close({ exitCode: 0 });
}

function query<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(dbPath(), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}
const keptLines = (runId: string) => query<{ n: number }>(`SELECT count(*) AS n FROM command_logs WHERE run_id = ?`, runId)[0]!.n;

describe('the command_logs cap of a run', () => {
  it('is --log-lines, else HARNESS_LOG_LINES, else logLines: in harness.config.yaml, else 500', async () => {
    await run({ runId: 'default', lines: 510 });
    expect(keptLines('default')).toBe(500);
    writeFileSync(join(dir, 'harness.config.yaml'), 'logLines: 4\n');
    await run({ runId: 'config', lines: 10 });
    expect(keptLines('config')).toBe(4);
    await run({ runId: 'env', lines: 10, env: { HARNESS_LOG_LINES: '6' } });
    expect(keptLines('env')).toBe(6);
    await run({ runId: 'flag', lines: 10, env: { HARNESS_LOG_LINES: '6' }, logLines: 3 });
    expect(keptLines('flag')).toBe(3);
  });

  it('harness run refuses a bad --log-lines before loading anything (exit 2, usage)', async () => {
    for (const bad of ['0', '-3', 'ten', '2.5']) {
      const r = runCommand.run(['missing.yaml', `--log-lines=${bad}`], io());
      await expect(r).rejects.toBeInstanceOf(UsageError);
      await expect(r).rejects.toThrow(`--log-lines: expected a positive whole number of lines, got "${bad}"`);
    }
  });

  it('applies to an explicit sqlite reporter too', async () => {
    await run({ runId: 'explicit', lines: 10, spec: `sqlite:${dbPath()}`, env: { HARNESS_LOG_LINES: '2' } });
    expect(keptLines('explicit')).toBe(2);
  });

  it('a bad logLines: in the config file stops the run before anything is recorded, naming file:line:col', async () => {
    writeFileSync(join(dir, 'harness.config.yaml'), 'reporters: [terminal]\nlogLines: -1\n');
    await expect(run({ runId: 'bad' })).rejects.toThrow(`${join(dir, 'harness.config.yaml')}:2:11: logLines: expected a positive whole number`);
    expect(existsSync(dbPath())).toBe(false);
  });
});

describe('report files', () => {
  it('are recorded as artifacts of the run (absolute paths) and listed by runs show', async () => {
    await run({ runId: 'r1', spec: 'terminal,junit:out/junit.xml,html:out/report.html,json:out/run.json' });
    const files = ['junit.xml', 'report.html', 'run.json'].map((f) => join(dir, 'out', f));
    for (const f of files) expect(existsSync(f), f).toBe(true);
    expect(query(`SELECT vm, kind, path FROM artifacts WHERE run_id = 'r1' ORDER BY id`)).toEqual(files.map((path) => ({ vm: null, kind: 'report', path })));

    const shown = io();
    expect(await runsCommand.run(['show', 'r1'], shown)).toBe(0);
    for (const f of files) expect(shown.text()).toContain(`report         ${f}`);
    // The JSON report is the same content as `runs show --json`, its own path included.
    const showJson = io();
    await runsCommand.run(['show', 'r1', '--json'], showJson);
    const fromDb = JSON.parse(showJson.text()) as { artifacts: Array<{ path: string }> };
    const fromFile = JSON.parse(readFileSync(files[2]!, 'utf8')) as { artifacts: Array<{ path: string }> };
    expect(fromFile.artifacts.map((a) => a.path)).toEqual(files);
    expect(fromDb.artifacts).toEqual(fromFile.artifacts);
  });

  it('config-file report paths resolve against the file\'s folder', async () => {
    writeFileSync(join(dir, 'harness.config.yaml'), 'reporters: [{junit: ci/j.xml}]\n');
    await run({ runId: 'r2', spec: undefined });
    expect(query(`SELECT path FROM artifacts WHERE run_id = 'r2'`)).toEqual([{ path: join(dir, 'ci', 'j.xml') }]);
  });

  it('a terminal-only run records no report artifact, and no run.started means no artifact rows at all', async () => {
    await run({ runId: 'plain', spec: 'terminal' });
    expect(query(`SELECT * FROM artifacts WHERE run_id = 'plain'`)).toEqual([]);
    await run({ runId: 'never', start: false });
    expect(query(`SELECT * FROM artifacts WHERE run_id = 'never'`)).toEqual([]);
  });
});
