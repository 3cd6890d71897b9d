// Schema versions on a real file: pragmas at open, backups before changes, up and down, and the `harness db` command.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
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

/** The shipped schema's version. */
const latest = migrations.length;
/** A test-only next migration, to exercise a real up/down on top of the shipped schema. */
const extra: Migration = { version: latest + 1, name: 'test-label', up: 'ALTER TABLE runs ADD COLUMN label TEXT', down: 'ALTER TABLE runs DROP COLUMN label' };

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
    const up = await migrateTo(db, latest + 1, [...migrations, extra]);
    expect(up.from).toBe(latest);
    expect(up.to).toBe(latest + 1);
    expect(db.prepare(`SELECT label FROM runs WHERE id = 'r1'`).pluck().get()).toBeNull();
    const backup = new Database(up.backup!, { readonly: true });
    expect(backup.prepare('SELECT id FROM runs').pluck().all()).toEqual(['r1']); // the copy holds the data as it was
    expect(backup.prepare('SELECT max(version) FROM schema_version').pluck().get()).toBe(latest);
    backup.close();
    const down = await migrateTo(db, latest, [...migrations, extra]);
    expect(down.backup).toBeDefined();
    expect(() => db.prepare('SELECT label FROM runs').all()).toThrow(/no such column/);
    expect(db.prepare('SELECT count(*) FROM steps').pluck().get()).toBe(3);
    await migrateTo(db, 0);
    expect(tables(db)).toEqual(['schema_version']);
    expect(backups()).toHaveLength(3);
    db.close();
  });

  it('002 adds the steps output-cap columns (NULL on older rows); its down drops them and keeps the steps', async () => {
    const db = await openDatabase(path);
    const columns = () => db.prepare(`SELECT name FROM pragma_table_info('steps') WHERE name LIKE '%bytes'`).pluck().all();
    await migrateTo(db, 1);
    expect(columns()).toEqual([]);
    db.prepare(`INSERT INTO runs (id, status, started_at) VALUES ('old', 'passed', 1)`).run();
    db.prepare(`INSERT INTO steps (run_id, idx, name, target, status, duration_ms, finished_at) VALUES ('old', 0, 's', 'web', 'passed', 1, 1)`).run();
    await migrateTo(db, 2);
    expect(columns()).toEqual(['stdout_dropped_bytes', 'stderr_dropped_bytes', 'output_cap_bytes']);
    expect(db.prepare(`SELECT stdout_dropped_bytes, stderr_dropped_bytes, output_cap_bytes FROM steps`).get()).toEqual({
      stdout_dropped_bytes: null, stderr_dropped_bytes: null, output_cap_bytes: null,
    });
    await migrateTo(db, 1);
    expect(columns()).toEqual([]);
    expect(db.prepare('SELECT name FROM steps').pluck().all()).toEqual(['s']);
    db.close();
  });

  it('refuses a version it does not know and a migration list with gaps', async () => {
    const db = await openDatabase(path);
    await expect(migrateTo(db, 7)).rejects.toThrow(new RegExp(`expected a schema version between 0 and ${latest}, got 7`));
    await expect(migrateTo(db, latest, [...migrations, { ...extra, version: latest + 2 }])).rejects.toBeInstanceOf(MigrationError);
    db.close();
  });

  // A real race: separate processes (one process's better-sqlite3 calls are synchronous and cannot interleave),
  // released together from a barrier, each migrating the same unmigrated file. The file is already in WAL mode
  // (switching it is a race of its own that serializes the openers, see enableWal; concurrent.test.ts covers it),
  // so every process reads version 0 before any of them commits.
  it('applies each migration once when four processes migrate a fresh file at the same moment', async () => {
    const fixture = join(import.meta.dirname, 'migrate-race.fixture.ts');
    /** One round on a new file; returns how many processes found it unmigrated (raced to migrate it). */
    const round = async (n: number): Promise<number> => {
      const file = join(dir, `race-${n}.db`);
      const fresh = new Database(file);
      fresh.pragma('journal_mode = WAL');
      expect(currentVersion(fresh)).toBe(0);
      fresh.close();
      const go = join(dir, `go-${n}`);
      let ready = 0;
      const children = [0, 1, 2, 3].map(() => {
        const child = execa('node', ['--import', 'tsx', fixture, file, go], { reject: false, timeout: 60_000 });
        child.stdout!.on('data', (d: Buffer) => {
          if (String(d).includes('ready') && ++ready === 4) writeFileSync(go, '');
        });
        return child;
      });
      const results = await Promise.all(children);
      for (const r of results) expect(r.stderr, r.stderr).toBe('');
      expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
      const outcomes = results.map((r) => JSON.parse(r.stdout.split('\n').at(-1)!) as { from: number; to: number });
      expect(outcomes.map((o) => o.to)).toEqual([latest, latest, latest, latest]);
      const db = new Database(file, { readonly: true });
      expect(db.prepare('SELECT version FROM schema_version ORDER BY version').pluck().all()).toEqual(migrations.map((m) => m.version));
      db.close();
      return outcomes.filter((o) => o.from === 0).length;
    };
    // The race must really happen: more than one process read version 0 before any of them committed. The
    // scheduler decides; on a loaded machine a round can come out serialized, so up to three rounds.
    const racers: number[] = [];
    for (let n = 0; n < 3 && !racers.some((r) => r > 1); n++) racers.push(await round(n));
    expect(Math.max(...racers), `processes that raced per round: ${racers.join(', ')}`).toBeGreaterThan(1);
  }, 180_000);
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
    expect(JSON.parse((await run('status', '--json')).out)).toMatchObject({ path, current: latest, latest, pending: [] });
    expect((await run('rollback')).out).toMatch(new RegExp(`schema version ${latest} -> ${latest - 1} \\(backup: .*bak-v${latest}-`));
    expect((await run('rollback', '--to', '0')).out).toMatch(new RegExp(`schema version ${latest - 1} -> 0 \\(backup: .*bak-v${latest - 1}-`));
    expect((await run('status')).out).toContain('pending  001-initial');
    expect((await run('migrate')).out).toContain(`schema version 0 -> ${latest}`);
    expect((await run('migrate')).out).toContain(`already at schema version ${latest}`);
    await expect(run('reset')).rejects.toBeInstanceOf(UsageError);
    const check = new Database(path);
    new EventWriter(check).write(sampleRunEvents({ runId: 'r2' }));
    check.close();
    expect((await run('reset', '--yes')).out).toContain('reset');
    const after = new Database(path, { readonly: true });
    expect(after.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(0);
    after.close();
    expect(backups().length).toBe(3); // two rollbacks and the reset
    expect(existsSync(path)).toBe(true);
  });

  it('refuses rollback --to above the current version and migrate --to below it, naming both', async () => {
    (await openDatabase(path)).close();
    await run('rollback', '--to', '0');
    const up = run('rollback', '--to', String(latest));
    await expect(up).rejects.toBeInstanceOf(UsageError);
    await expect(up).rejects.toThrow(`rollback --to ${latest}: the database is at schema version 0; expected a version from 0 to 0 (use migrate --to ${latest} to go up)`);
    expect((await run('status', '--json')).out).toContain('"current": 0'); // nothing was applied
    await run('migrate');
    await expect(run('migrate', '--to', '0')).rejects.toThrow(
      `migrate --to 0: the database is at schema version ${latest}; expected a version from ${latest} to ${latest} (use rollback --to 0 to go down)`,
    );
    expect(JSON.parse((await run('status', '--json')).out).current).toBe(latest);
    expect((await run('rollback', '--to', String(latest))).out).toContain(`already at schema version ${latest}`);
  });

  it('explains a bad --to', async () => {
    await expect(run('migrate', '--to', 'x')).rejects.toThrow(/--to: expected a schema version \(integer >= 0\), got "x"/);
  });
});
