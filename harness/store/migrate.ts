// Versioned schema changes with a backup first. The version lives in schema_version (one row per applied
// migration); every change runs in one IMMEDIATE transaction that re-reads the version, so two processes
// opening a fresh database at once apply each migration exactly once.
import { existsSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { HarnessError } from '../errors.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export interface MigrationStatus {
  current: number;
  latest: number;
  applied: Array<{ version: number; name: string; appliedAt: number }>;
  pending: Array<{ version: number; name: string }>;
}

/** A schema change asked for something the migration list cannot do. */
export class MigrationError extends HarnessError {}

function ensureVersionTable(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
}

export function currentVersion(db: Database.Database): number {
  ensureVersionTable(db);
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

export function migrationStatus(db: Database.Database, list: readonly Migration[] = allMigrations): MigrationStatus {
  const current = currentVersion(db);
  const applied = (db.prepare('SELECT version, name, applied_at AS appliedAt FROM schema_version ORDER BY version').all() as MigrationStatus['applied']);
  return {
    current,
    latest: latestVersion(list),
    applied,
    pending: list.filter((m) => m.version > current).map(({ version, name }) => ({ version, name })),
  };
}

export function latestVersion(list: readonly Migration[] = allMigrations): number {
  return list.reduce((max, m) => Math.max(max, m.version), 0);
}

/**
 * Moves the schema to `target` (default: latest), up or down. Before any change to a database that already has
 * a schema, copies the file with better-sqlite3's online backup to `<db>.bak-v<from>-<epoch ms>`.
 * Returns the version before and after, and the backup path if one was taken.
 */
export async function migrateTo(
  db: Database.Database,
  target: number = latestVersion(),
  list: readonly Migration[] = allMigrations,
): Promise<{ from: number; to: number; backup?: string }> {
  validateList(list);
  const latest = latestVersion(list);
  if (!Number.isInteger(target) || target < 0 || target > latest) {
    throw new MigrationError(`expected a schema version between 0 and ${latest}, got ${target}`);
  }
  const from = currentVersion(db);
  if (from === target) return { from, to: target };
  if (from > latest) throw new MigrationError(`the database has schema version ${from}, newer than this harness knows (${latest}); upgrade the harness`);
  const backup = from > 0 ? await backupFile(db, from) : undefined;
  const apply = db.transaction(() => {
    const now = currentVersion(db); // re-read under the write lock: another process may have moved it
    if (now < target) {
      for (const m of list.filter((x) => x.version > now && x.version <= target).sort(byVersion)) {
        db.exec(m.up);
        db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }
    } else if (now > target) {
      for (const m of list.filter((x) => x.version <= now && x.version > target).sort(byVersion).reverse()) {
        db.exec(m.down);
        db.prepare('DELETE FROM schema_version WHERE version = ?').run(m.version);
      }
    }
  });
  // Foreign keys must be off while tables are dropped and rebuilt (SQLite ignores the pragma inside a transaction).
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    apply.immediate();
  } finally {
    db.pragma(`foreign_keys = ${fk ? 'ON' : 'OFF'}`);
  }
  return { from, to: target, ...(backup ? { backup } : {}) };
}

/** Online copy of the open database next to it; returns the copy's path (undefined for in-memory databases). */
async function backupFile(db: Database.Database, version: number): Promise<string | undefined> {
  if (db.memory || !db.name || !existsSync(db.name) || statSync(db.name).size === 0) return undefined;
  const dest = `${db.name}.bak-v${version}-${Date.now()}`;
  await db.backup(dest);
  return dest;
}

function validateList(list: readonly Migration[]): void {
  const sorted = [...list].sort(byVersion);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new MigrationError(`expected migration versions 1..${sorted.length} without gaps, found ${sorted.map((x) => x.version).join(',')}`);
  });
}

const byVersion = (a: Migration, b: Migration) => a.version - b.version;
