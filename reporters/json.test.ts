// `harness runs show ID --json` (read back from SQLite) and the JSON reporter (folded from events) print the same
// content for the same run.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { runsCommand } from '../harness/cli/commands/runs.js';
import { EventBus, type HarnessEvent } from '../harness/events.js';
import { runReportFromEvents } from '../harness/store/run-report-from-events.js';
import { sampleRunEvents } from '../harness/store/sample-events.js';
import { JsonReporter } from './json.js';
import { SqliteRecorder } from './sqlite-recorder.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-json-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function record(dbPath: string, events: HarnessEvent[], jsonPath: string): Promise<void> {
  const rec = await SqliteRecorder.open(dbPath);
  const json = new JsonReporter(jsonPath);
  const bus = new EventBus(events[0]!.runId, false);
  bus.subscribe(rec);
  bus.subscribe(json);
  for (const e of events) bus.emit(e); // the bus keeps each event's own time
  await bus.close();
}

async function showJson(dbPath: string, id: string): Promise<string> {
  let out = '';
  const code = await runsCommand.run(['show', id, '--json', '--db', dbPath], { out: (s) => void (out += s), err: (s) => void (out += s), env: {}, cwd: dir, isTTY: false });
  expect(code).toBe(0);
  return out;
}

it('prints byte-identical JSON from the database and from the event stream, for each of two runs', async () => {
  const dbPath = join(dir, 'h.db');
  const failing = sampleRunEvents({ runId: '20240101-000000-aaaa0001', failing: true });
  const passing = sampleRunEvents({ runId: '20240101-000100-bbbb0002', failing: false, start: 1_700_000_100_000 });
  await record(dbPath, failing, join(dir, 'a.json'));
  await record(dbPath, passing, join(dir, 'b.json'));

  const fromDbA = await showJson(dbPath, '20240101-000000'); // a unique prefix is enough
  const fromDbB = await showJson(dbPath, '20240101-000100-bbbb0002');
  expect(fromDbA).toBe(readFileSync(join(dir, 'a.json'), 'utf8'));
  expect(fromDbB).toBe(readFileSync(join(dir, 'b.json'), 'utf8'));

  const a = JSON.parse(fromDbA);
  expect(a).toMatchObject({ status: 'failed', accel: 'tcg', summary: { total: 3, passed: 1, failed: 1, skipped: 1 } });
  expect(a.steps[1]).toMatchObject({ status: 'failed', exitCode: 1, stderrTail: expect.stringContaining('Connection refused') });
  expect(a.timeline.length).toBeGreaterThan(10);
  expect(a.artifacts.map((x: { path: string }) => x.path)).toEqual(['/vms/web/web.log', '/vms/db/db.log']);
  expect(JSON.parse(fromDbB).status).toBe('passed');
});

it('folds only the events of the run asked for', () => {
  const mixed = [...sampleRunEvents({ runId: 'x' }), ...sampleRunEvents({ runId: 'y', failing: false })];
  expect(runReportFromEvents(mixed, 'y').status).toBe('passed');
  expect(runReportFromEvents(mixed, 'x').status).toBe('failed');
  expect(() => runReportFromEvents(mixed, 'z')).toThrow(/expected events of run z, found none among/);
});
