// The recorder maps every event type to rows: checked table by table on a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { EventBus } from '../events.js';
import { markAbandonedRunsAborted } from './abandoned.js';
import { openDatabase, type Db } from './db.js';
import { sampleRunEvents } from './sample-events.js';
import { EventWriter } from './write-events.js';

let dir: string;
let db: Db;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harness-store-'));
  db = await openDatabase(join(dir, 'h.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (sql: string, ...p: unknown[]) => db.prepare(sql).pluck().get(...p) as number;

describe('EventWriter', () => {
  it('maps a whole run to rows in every table', () => {
    new EventWriter(db).write(sampleRunEvents({ runId: 'r1' }));
    const run = db.prepare('SELECT * FROM runs').get() as Record<string, unknown>;
    expect(run).toMatchObject({ id: 'r1', scenario: 'web-and-db', status: 'failed', exit_code: 1, accel: 'tcg', host: 'ci-host', pid: process.pid, error: '1 step failed' });
    expect(JSON.parse(run.options as string)).toEqual({ teardown: 'destroy', accel: 'auto' });
    const web = db.prepare(`SELECT * FROM vms WHERE name = 'web'`).get() as Record<string, unknown>;
    expect(web).toMatchObject({ provider: 'qemu', cpus: 1, memory_mib: 256, ssh_port: 22220, dir: '/vms/web', accel: 'tcg', status: 'Stopped' });
    expect(web.last_started_at).toBeLessThan(web.last_stopped_at as number);
    expect(count(`SELECT count(*) FROM vm_events WHERE type = 'StatusChanged'`)).toBe(6);
    expect(count(`SELECT count(*) FROM vm_events WHERE type = 'UserAction' AND details = '{"tag":"before-upgrade"}'`)).toBe(1);
    expect(db.prepare('SELECT status, exit_code, stderr_tail FROM steps ORDER BY idx').all()).toEqual([
      { status: 'passed', exit_code: 0, stderr_tail: null },
      { status: 'failed', exit_code: 1, stderr_tail: 'nc: connect to db port 5432 (tcp) failed: Connection refused' },
      { status: 'skipped', exit_code: null, stderr_tail: null },
    ]);
    expect(count(`SELECT count(*) FROM command_logs WHERE vm = 'web'`)).toBe(20);
    expect(count(`SELECT count(*) FROM artifacts WHERE kind = 'console-log'`)).toBe(2);
    expect(db.prepare('SELECT provider, operation, status, exit_status FROM tasks').all()).toEqual([
      { provider: 'proxmox', operation: 'qmstart', status: 'stopped', exit_status: 'OK' },
    ]);
    expect(db.prepare('SELECT container_id, status, ports FROM containers').get()).toEqual({ container_id: 'c0ffee', status: 'running', ports: '[{"container":6379,"host":32768}]' });
    expect(db.prepare(`SELECT resource_type, change_type, count(*) AS n FROM state_snapshots GROUP BY 1, 2 ORDER BY 1, 2`).all()).toEqual([
      { resource_type: 'container', change_type: 'created', n: 1 },
      { resource_type: 'container', change_type: 'updated', n: 1 },
      { resource_type: 'vm', change_type: 'created', n: 2 },
      { resource_type: 'vm', change_type: 'deleted', n: 2 },
      { resource_type: 'vm', change_type: 'updated', n: 6 },
    ]);
    expect(db.prepare('SELECT level, message FROM run_logs').all()).toEqual([{ level: 'warn', message: 'accel fell back to tcg' }]);
  });

  it('keeps only the newest lines per VM up to the cap', () => {
    new EventWriter(db, { logCapPerVm: 5 }).write(sampleRunEvents({ runId: 'r1', logLines: 30 }));
    const lines = db.prepare(`SELECT line FROM command_logs WHERE vm = 'db' ORDER BY id`).pluck().all();
    expect(lines).toEqual([25, 26, 27, 28, 29].map((i) => `[${i}.000] db booting line ${i}`));
  });

  it('keeps events of a run whose start it never saw, under a placeholder run', () => {
    const bus = new EventBus('late');
    new EventWriter(db).write([bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: 'hello' })]);
    expect(db.prepare('SELECT id, status FROM runs').get()).toEqual({ id: 'late', status: 'running' });
    expect(count('SELECT count(*) FROM command_logs')).toBe(1);
  });

  it('existingRunsOnly appends to a recorded run and drops events of an unknown one (no placeholder run)', () => {
    new EventWriter(db).write(sampleRunEvents({ runId: 'r1' }));
    const runsBefore = count('SELECT count(*) FROM runs');
    const eventsBefore = count(`SELECT count(*) FROM vm_events WHERE run_id = 'r1'`);
    const w = new EventWriter(db, { existingRunsOnly: true });
    const ev = (runId: string) => new EventBus(runId).emit({ type: 'vm.event', vm: 'web', kind: 'UserAction', severity: 'Info', message: 'harness vm stop' });
    w.write([ev('r1'), ev('ghost')]);
    expect(w.dropped).toBe(1);
    expect(count('SELECT count(*) FROM runs')).toBe(runsBefore);
    expect(count(`SELECT count(*) FROM vm_events WHERE run_id = 'r1'`)).toBe(eventsBefore + 1);
    expect(db.prepare(`SELECT status FROM runs WHERE id = 'r1'`).pluck().get()).not.toBe('running');
  });
});

describe('SqliteRecorder', () => {
  it('buffers events and writes them on close; a second connection then sees them', async () => {
    const rec = await SqliteRecorder.open(join(dir, 'h.db'), { flushIntervalMs: 60_000, flushEvery: 10_000 });
    const bus = new EventBus('r2');
    bus.subscribe(rec);
    bus.emit({ type: 'run.started', scenario: 's', file: 'f', host: 'h', options: {} });
    for (let i = 0; i < 50; i++) bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: `l${i}` });
    expect(count('SELECT count(*) FROM runs')).toBe(1); // run.started is written at once (crash recovery needs the pid)
    expect(count('SELECT count(*) FROM command_logs')).toBe(0);
    await bus.close();
    expect(count('SELECT count(*) FROM command_logs')).toBe(50);
    expect(rec.stats()).toMatchObject({ events: 51, failedFlushes: 0, dropped: 0 });
  });
});

describe('markAbandonedRunsAborted', () => {
  it('marks running runs whose process died as aborted, and leaves live ones running', async () => {
    const child = await execa('sh', ['-c', 'echo $$']);
    const deadPid = Number(child.stdout);
    const start = (runId: string, pid: number) =>
      new EventWriter(db, { pid }).write([new EventBus(runId).emit({ type: 'run.started', scenario: 's', file: 'f', host: 'this-host', options: {} })]);
    start('dead', deadPid);
    start('alive', process.pid);
    expect(markAbandonedRunsAborted(db, { host: 'this-host' })).toEqual(['dead']);
    expect(db.prepare('SELECT id, status FROM runs ORDER BY id').all()).toEqual([
      { id: 'alive', status: 'running' },
      { id: 'dead', status: 'aborted' },
    ]);
    expect(db.prepare(`SELECT error FROM runs WHERE id = 'dead'`).pluck().get()).toContain(`pid ${deadPid}`);
    expect(markAbandonedRunsAborted(db, { host: 'other-host' })).toEqual([]);
  });
});
