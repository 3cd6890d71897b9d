// `harness runs list | show | flaky | prune | merge` against real database files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../store/db.js';
import { sampleRunEvents } from '../../store/sample-events.js';
import { EventWriter } from '../../store/write-events.js';
import { UsageError } from '../command.js';
import { parseDuration, runsCommand } from './runs.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-runs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;

/** Records runs into a database file: [runId, scenario, failing, start]. */
async function seed(path: string, runs: Array<[string, string, boolean, number]>): Promise<void> {
  const db = await openDatabase(path);
  const w = new EventWriter(db);
  for (const [runId, scenario, failing, start] of runs) w.write(sampleRunEvents({ runId, scenario, failing, start }));
  db.close();
}

async function harness(...args: string[]) {
  let out = '';
  const code = await runsCommand.run(args, { out: (s) => void (out += s), err: (s) => void (out += s), env: { HARNESS_DB: join(dir, 'h.db') }, cwd: dir, isTTY: false });
  return { code, out };
}

describe('harness runs', () => {
  const now = Date.now();
  beforeEach(() =>
    seed(join(dir, 'h.db'), [
      ['old-1', 'web', true, now - 40 * DAY],
      ['web-1', 'web', false, now - 3 * DAY],
      ['web-2', 'web', true, now - 2 * DAY],
      ['web-3', 'web', false, now - 1 * DAY],
      ['db-1', 'db', false, now - 1 * DAY + 1000],
    ]),
  );

  it('lists newest first, filtered by scenario and status, limited, as text or JSON', async () => {
    const all = JSON.parse((await harness('list', '--json')).out) as Array<{ id: string }>;
    expect(all.map((r) => r.id)).toEqual(['db-1', 'web-3', 'web-2', 'web-1', 'old-1']);
    const failed = JSON.parse((await harness('list', '--scenario', 'web', '--status', 'failed', '--json')).out) as Array<{ id: string; failed: number }>;
    expect(failed.map((r) => [r.id, r.failed])).toEqual([['web-2', 1], ['old-1', 1]]);
    expect((await harness('list', '--limit', '1')).out).toMatch(/^ID +SCENARIO.*\ndb-1 +db +passed/);
    await expect(harness('list', '--status', 'weird')).rejects.toThrow(/--status: expected one of running, passed/);
  });

  it('shows a run: failures with their output tails, artifacts and the VM timeline', async () => {
    const { out } = await harness('show', 'web-2');
    expect(out).toContain('run web-2  FAILED (exit 1)');
    expect(out).toMatch(/FAIL step 2 db reachable from web[\s\S]*command: nc -z db 5432[\s\S]*Connection refused/);
    expect(out).toContain('console-log    /vms/web/web.log');
    expect(out).toMatch(/timeline:[\s\S]*web +Info +StatusChanged: Starting -> Running/);
    await expect(harness('show', 'nope')).rejects.toThrow(/expected a run with id nope/);
    await expect(harness('show', 'web-')).rejects.toThrow(/ambiguous/);
  });

  it('finds steps that both passed and failed within the last N runs of a scenario', async () => {
    const flaky = JSON.parse((await harness('flaky', '--last', '3', '--json')).out);
    expect(flaky).toEqual([{ scenario: 'web', step: 'db reachable from web', runs: 3, passed: 2, failed: 1, lastFailedRun: 'web-2' }]);
    // The newest run alone never failed it: not flaky within that window.
    expect(JSON.parse((await harness('flaky', '--last', '1', '--json')).out)).toEqual([]);
  });

  it('prunes old runs with all their rows', async () => {
    expect((await harness('prune', '--older-than', '30d')).out).toContain('pruned 1 runs');
    const db = new Database(join(dir, 'h.db'), { readonly: true });
    expect(db.prepare(`SELECT count(*) FROM runs WHERE id = 'old-1'`).pluck().get()).toBe(0);
    for (const t of ['steps', 'vm_events', 'command_logs', 'vms', 'state_snapshots']) {
      expect(db.prepare(`SELECT count(*) FROM ${t} WHERE run_id = 'old-1'`).pluck().get(), t).toBe(0);
    }
    expect(db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(4);
    db.close();
    await expect(harness('prune')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('harness runs merge', () => {
  it('folds shard databases into one with fresh row ids, clusters with their nodes and pods, and skips runs already present', async () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await seed(a, [['shard-a', 'web', true, 1_700_000_000_000]]);
    await seed(b, [['shard-b', 'web', false, 1_700_000_500_000]]);
    const sb = new Database(b);
    const cid = sb.prepare(`INSERT INTO clusters (run_id, name, distribution, created_at, updated_at) VALUES ('shard-b', 'k3s', 'k3s', 1, 1)`).run().lastInsertRowid;
    sb.prepare(`INSERT INTO cluster_nodes (cluster_id, name, roles, updated_at) VALUES (?, 'node-1', 'control-plane', 1)`).run(cid);
    sb.prepare(`INSERT INTO pods (cluster_id, namespace, name, phase, updated_at) VALUES (?, 'kube-system', 'coredns', 'Running', 1)`).run(cid);
    sb.close();

    const out = join(dir, 'out.db');
    expect((await harness('merge', a, b, '-o', out)).code).toBe(0);
    const again = await harness('merge', b, '-o', out);
    expect(again.out).toContain('0 runs merged, 1 already present (skipped)');

    const db = new Database(out, { readonly: true });
    expect(db.prepare('SELECT id FROM runs ORDER BY id').pluck().all()).toEqual(['shard-a', 'shard-b']);
    // Both shards numbered their steps 1..3; in the output every row has its own id and keeps its run.
    expect(db.prepare('SELECT count(*), count(DISTINCT id) FROM steps').raw().get()).toEqual([6, 6]);
    expect(db.prepare(`SELECT status FROM steps WHERE run_id = 'shard-a' ORDER BY idx`).pluck().all()).toEqual(['passed', 'failed', 'skipped']);
    expect(db.prepare(`SELECT status FROM steps WHERE run_id = 'shard-b' ORDER BY idx`).pluck().all()).toEqual(['passed', 'passed', 'skipped']);
    expect(db.prepare('SELECT count(*) FROM vm_events').pluck().get()).toBe(36);
    expect(db.prepare(`SELECT c.run_id, n.name, p.name FROM clusters c JOIN cluster_nodes n ON n.cluster_id = c.id JOIN pods p ON p.cluster_id = c.id`).raw().all()).toEqual([
      ['shard-b', 'node-1', 'coredns'],
    ]);
    db.close();
    await expect(harness('merge', a)).rejects.toThrow(/-o OUT.db/);
  });
});

it('parses durations', () => {
  expect(parseDuration('30d')).toBe(30 * DAY);
  expect(parseDuration('12h')).toBe(12 * 3_600_000);
  expect(() => parseDuration('30 days')).toThrow(/expected a duration like 30d/);
});

it('says there is nothing yet when no database exists, and names the path', async () => {
  expect((await harness('list')).out).toBe(`no runs recorded yet (no database at ${join(dir, 'h.db')})\n`);
  await expect(harness('show', 'abc')).rejects.toThrow(`expected a run with id abc in ${join(dir, 'h.db')}`);
});
