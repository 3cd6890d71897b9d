// `harness db migrate | rollback | status | reset`: drive the run database's schema by hand.
// Every change takes a backup copy of the file first (see harness/store/migrate.ts).
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand } from '../command.js';
import { openDatabase, resolveDbPath } from '../../store/db.js';
import { currentVersion, latestVersion, migrateTo, migrationStatus } from '../../store/migrate.js';

const usage = `usage: harness db <subcommand> [--db PATH]
  migrate  [--to N]   apply migrations up to N (default: latest)
  rollback [--to N]   undo migrations down to N (default: one step back)
  status   [--json]   schema version, applied and pending migrations, file size
  reset    --yes      drop every table and recreate an empty schema (a backup is taken first)
The database is --db, else $HARNESS_DB, else vms/harness.db.`;

export const dbCommand: CliCommand = {
  name: 'db',
  usage,
  async run(args, io) {
    const [sub, ...rest] = args;
    let v: { db?: string; to?: string; json?: boolean; yes?: boolean };
    try {
      v = parseArgs({ args: rest, options: { db: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' } } }).values;
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (!['migrate', 'rollback', 'status', 'reset'].includes(sub ?? '')) throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'expected a subcommand');
    if (sub === 'reset' && !v.yes) throw new UsageError('reset deletes every run record; pass --yes to confirm');
    const path = resolveDbPath(v.db, io.env, io.cwd);
    const db = await openDatabase(path, { migrate: false });
    try {
      const to = (dflt: number) => {
        if (v.to === undefined) return dflt;
        const n = Number(v.to);
        if (!Number.isInteger(n) || n < 0) throw new UsageError(`--to: expected a schema version (integer >= 0), got "${v.to}"`);
        return n;
      };
      if (sub === 'status') {
        const s = migrationStatus(db);
        if (v.json) io.out(JSON.stringify({ path, sizeBytes: statSync(path).size, ...s }, null, 2) + '\n');
        else {
          io.out(`${path} (${existsSync(path) ? statSync(path).size : 0} bytes): schema version ${s.current} of ${s.latest}\n`);
          for (const a of s.applied) io.out(`  applied  ${String(a.version).padStart(3, '0')}-${a.name}  ${new Date(a.appliedAt).toISOString()}\n`);
          for (const p of s.pending) io.out(`  pending  ${String(p.version).padStart(3, '0')}-${p.name}\n`);
        }
        return 0;
      }
      const report = (r: { from: number; to: number; backup?: string }) =>
        io.out(r.from === r.to ? `already at schema version ${r.to}\n` : `schema version ${r.from} -> ${r.to}${r.backup ? ` (backup: ${r.backup})` : ''}\n`);
      const current = currentVersion(db);
      if (sub === 'migrate') {
        const target = to(latestVersion());
        if (target < current && current <= latestVersion()) throw new UsageError(`migrate --to ${target}: the database is at schema version ${current}; expected a version from ${current} to ${latestVersion()} (use rollback --to ${target} to go down)`);
        report(await migrateTo(db, target));
      } else if (sub === 'rollback') {
        const target = to(Math.max(0, current - 1));
        if (target > current) throw new UsageError(`rollback --to ${target}: the database is at schema version ${current}; expected a version from 0 to ${current} (use migrate --to ${target} to go up)`);
        report(await migrateTo(db, target));
      } else {
        const down = await migrateTo(db, 0);
        await migrateTo(db, latestVersion());
        io.out(`reset ${path} to an empty schema version ${latestVersion()}${down.backup ? ` (backup: ${down.backup})` : ''}\n`);
      }
      return 0;
    } finally {
      db.close();
    }
  },
};
