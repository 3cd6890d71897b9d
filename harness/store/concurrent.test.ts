// Several processes recording into one database file at once lose nothing (WAL + busy timeout + IMMEDIATE batches).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrations } from './migrations/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-concurrent-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('three child processes writing 3,000 events each into a fresh file: every row is present', async () => {
  const dbPath = join(dir, 'h.db');
  const steps = 1500;
  const runs = ['child-a', 'child-b', 'child-c'];
  const fixture = join(import.meta.dirname, 'concurrent-writer.fixture.ts');
  const children = runs.map((id) => execa('node', ['--import', 'tsx', fixture, dbPath, id, String(steps)], { cwd: process.cwd(), reject: false }));
  const results = await Promise.all(children);
  for (const r of results) expect(r.stderr, r.stderr).toBe('');
  expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);

  const db = new Database(dbPath, { readonly: true });
  expect(db.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(migrations.length); // migrated once despite the race
  expect(db.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(migrations.length);
  for (const id of runs) {
    expect(db.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(id)).toBe('passed');
    const idx = db.prepare('SELECT idx FROM steps WHERE run_id = ? ORDER BY idx').pluck().all(id) as number[];
    expect(idx).toEqual(Array.from({ length: steps }, (_, i) => i));
    expect(db.prepare('SELECT count(DISTINCT line) FROM command_logs WHERE run_id = ?').pluck().get(id)).toBe(steps);
  }
  db.close();
}, 120_000);
