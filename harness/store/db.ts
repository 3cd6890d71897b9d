// Opens the run database: one file (default vms/harness.db; HARNESS_DB or --db move it), WAL so readers never
// block the writer, a busy timeout so concurrent writers queue instead of failing, foreign keys enforced,
// and the schema migrated to the latest version on open.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { harnessPaths } from '../paths.js';
import { migrateTo } from './migrate.js';

export type Db = Database.Database;

export const BUSY_TIMEOUT_MS = 10_000;

export interface OpenOptions {
  /** Apply pending migrations (default true). `harness db` opens without, to drive migrations itself. */
  migrate?: boolean;
  readonly?: boolean;
}

/** The database path: an explicit --db flag wins, then HARNESS_DB, then vms/harness.db under the project root. */
export function resolveDbPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return flag ? resolve(cwd, flag) : harnessPaths(env, cwd).db;
}

export async function openDatabase(path: string, opts: OpenOptions = {}): Promise<Db> {
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: opts.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!opts.readonly) await enableWal(db);
    db.pragma('synchronous = NORMAL'); // safe with WAL: a power cut may lose the last commit, never corrupt
    db.pragma('foreign_keys = ON');
    if (opts.migrate !== false && !opts.readonly) await migrateTo(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Switches the file to WAL (a setting stored in the file, so later opens find it already on). Changing the journal
 * mode needs the file to itself and SQLite does not call the busy handler for it: two processes opening a new
 * database at the same moment get SQLITE_BUSY ("database is locked") at once, so retry for the busy timeout.
 */
async function enableWal(db: Db): Promise<void> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return;
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 50));
    }
  }
}
