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
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // safe with WAL: a power cut may lose the last commit, never corrupt
    db.pragma('foreign_keys = ON');
    if (opts.migrate !== false && !opts.readonly) await migrateTo(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}
