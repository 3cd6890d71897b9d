// Schema versions on a real file: pragmas at open, backups before changes, up and down, and the `harness db` command.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbCommand } from '../cli/commands/db.js';
import { UsageError, type CliIo } from '../cli/command.js';
import { openDatabase } from './db.js';
import { currentVersion, migrateTo, MigrationError } from './migrate.js';
import { migrations } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import { sampleRunEvents } from './sample-events.js';
import { EventWriter } from './write-events.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-migrate-'));
  path = join(dir, 'h.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all();
const backups = () => readdirSync(dir).filter((f) => /\.bak-v\d+-\d+$/.test(f));

/** A test-only second migration, to exercise a real up/down on top of the shipped schema. */
const extra: Migration = { version: 2, name: 'test-label', up: 'ALTER TABLE runs ADD COLUMN label TEXT', down: 'ALTER TABLE runs DROP COLUMN label' };

describe('openDatabase', () => {
  it('opens in WAL mode with a busy timeout and foreign keys, at the latest schema', async () => {
    const db = await openDatabase(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(10_000);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(currentVersion(db)).toBe(migrations.length);
    expect(tables(db)).toEqual(
      ['artifacts', 'cluster_nodes', 'clusters', 'command_logs', 'containers', 'pods', 'run_logs', 'runs', 'schema_version', 'state_snapshots', 'steps', 'tasks', 'vm_events', 'vms'],
    );
    expect(() => db.prepare(`INSERT INTO steps (run_id, idx, name, target, status, duration_ms, finished_at) VALUES ('nope', 0, 'x', 'y', 'passed', 1, 1)`).run()).toThrow(/FOREIGN KEY/);
    db.close();
    expect(backups()).toEqual([]); // a fresh database needs no backup
  });
});

describe('migrateTo', () => {
  it('backs the file up before a change, applies up and down, and keeps data through an up/down cycle', async () => {
    const db = await openDatabase(path);
    new EventWriter(db).write(sampleRunEvents({ runId: 'r1' }));
    const up = await migrateTo(db, 2, [...migrations, extra]);
    expect(up.from).toBe(1);
    expect(up.to).toBe(2);
    expect(db.prepare(`SELECT label FROM runs WHERE id = 'r1'`).pluck().get()).toBeNull();
    const backup = new Database(up.backup!, { readonly: true });
    expect(backup.prepare('SELECT id FROM runs').pluck().all()).toEqual(['r1']); // the copy holds the data as it was
    expect(backup.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(1);
    backup.close();
    const down = await migrateTo(db, 1, [...migrations, extra]);
    expect(down.backup).toBeDefined();
    expect(() => db.prepare('SELECT label FROM runs').all()).toThrow(/no such column/);
    expect(db.prepare('SELECT count(*) FROM steps').pluck().get()).toBe(3);
    await migrateTo(db, 0);
    expect(tables(db)).toEqual(['schema_version']);
    expect(backups()).toHaveLength(3);
    db.close();
  });

  it('refuses a version it does not know and a migration list with gaps', async () => {
    const db = await openDatabase(path);
    await expect(migrateTo(db, 7)).rejects.toThrow(/expected a schema version between 0 and 1, got 7/);
    await expect(migrateTo(db, 1, [...migrations, { ...extra, version: 3 }])).rejects.toBeInstanceOf(MigrationError);
    db.close();
  });

  it('applies each migration once when two connections open a fresh file at the same time', async () => {
    const [a, b] = await Promise.all([openDatabase(path), openDatabase(path)]);
    expect(a!.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(migrations.length);
    a!.close();
    b!.close();
  });
});

describe('harness db', () => {
  const run = async (...args: string[]) => {
    let out = '';
    const io: CliIo = { out: (s) => void (out += s), err: (s) => void (out += s), env: { HARNESS_DB: path }, cwd: dir, isTTY: false };
    const code = await dbCommand.run(args, io);
    return { code, out };
  };

  it('reports status, rolls back, migrates and resets with a backup', async () => {
    const db = await openDatabase(path);
    new EventWriter(db).write(sampleRunEvents({ runId: 'r1' }));
    db.close();
    expect(JSON.parse((await run('status', '--json')).out)).toMatchObject({ path, current: 1, latest: 1, pending: [] });
    expect((await run('rollback')).out).toMatch(/schema version 1 -> 0 \(backup: .*bak-v1-/);
    expect((await run('status')).out).toContain('pending  001-initial');
    expect((await run('migrate')).out).toContain('schema version 0 -> 1');
    expect((await run('migrate')).out).toContain('already at schema version 1');
    await expect(run('reset')).rejects.toBeInstanceOf(UsageError);
    const check = new Database(path);
    new EventWriter(check).write(sampleRunEvents({ runId: 'r2' }));
    check.close();
    expect((await run('reset', '--yes')).out).toContain('reset');
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(0);
    after.close();
    expect(backups().length).toBe(2);
    expect(existsSync(path)).toBe(true);
  });

  it('explains a bad --to', async () => {
    await expect(run('migrate', '--to', 'x')).rejects.toThrow(/--to: expected a schema version \(integer >= 0\), got "x"/);
  });
});
