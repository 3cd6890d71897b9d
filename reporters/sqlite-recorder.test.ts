// The recorder's command_logs cap on a real database file: 500 lines per VM per run unless told otherwise,
// the newest kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EventBus } from '../harness/events.js';
import { SqliteRecorder, type RecorderOptions } from './sqlite-recorder.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-recorder-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Records one run with `lines` console lines for `web` (and 3 for `db`); returns web's kept line numbers in order. */
async function record(lines: number, opts?: RecorderOptions): Promise<number[]> {
  const path = join(dir, 'h.db');
  const rec = opts ? await SqliteRecorder.open(path, opts) : await SqliteRecorder.open(path);
  const bus = new EventBus('r1', false);
  bus.subscribe(rec);
  bus.emit({ type: 'run.started', scenario: 's', file: 'f.yaml', host: 'h', options: {} });
  for (let i = 0; i < lines; i++) bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: `line ${i}` });
  for (let i = 0; i < 3; i++) bus.emit({ type: 'vm.log', vm: 'db', stream: 'console', line: `db ${i}` });
  bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 1 });
  await bus.close();
  const db = new Database(path, { readonly: true });
  try {
    expect(db.prepare(`SELECT count(*) FROM command_logs WHERE vm = 'db'`).pluck().get()).toBe(3); // per VM, not per run
    return (db.prepare(`SELECT line FROM command_logs WHERE vm = 'web' ORDER BY id`).pluck().all() as string[]).map((l) => Number(l.slice(5)));
  } finally {
    db.close();
  }
}

it('keeps the newest 500 command_logs lines per VM by default (600 fed)', async () => {
  const kept = await record(600);
  expect(kept).toHaveLength(500);
  expect(kept).toEqual(Array.from({ length: 500 }, (_, i) => i + 100));
});

it('keeps the cap it is given', async () => {
  expect(await record(600, { logCapPerVm: 7 })).toEqual([593, 594, 595, 596, 597, 598, 599]);
  rmSync(join(dir, 'h.db'));
  expect(await record(600, { logCapPerVm: 1000 })).toHaveLength(600);
});
