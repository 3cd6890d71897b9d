// `harness runs list | show | flaky | prune | merge`: read and maintain the run record.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliCommand, type CliIo } from '../command.js';
import { markAbandonedRunsAborted } from '../../store/abandoned.js';
import { openDatabase, resolveDbPath, type Db } from '../../store/db.js';
import { loadRunReport, RunNotFound } from '../../store/load-run-report.js';
import { mergeDatabases } from '../../store/merge.js';
import { flakySteps, listRuns, pruneRuns, resolveRunId, runsLinkingTo } from '../../store/queries/runs.js';
import { runReportJson } from '../../store/run-report.js';
import { formatFlaky, formatRunList, formatRunReport } from './runs-format.js';

const usage = `usage: harness runs <subcommand> [--db PATH]
  list  [--scenario S] [--status running|passed|failed|aborted|invalid|error] [--limit N] [--json]
  show  ID [--json]               steps, timings, failures with output tails, artifacts, VM timeline (ID may be a prefix)
  flaky [--last N] [--scenario S] [--json]   steps that both passed and failed in the last N runs (default 20)
  prune --older-than DURATION     delete finished runs older than e.g. 30d, 12h, 2w
  merge A.db B.db ... -o OUT.db   fold CI shard databases into one (run ids kept, row ids renumbered)
The database is --db, else $HARNESS_DB, else vms/harness.db.`;

const STATUSES = ['running', 'passed', 'failed', 'aborted', 'invalid', 'error'];

export const runsCommand: CliCommand = {
  name: 'runs',
  usage,
  async run(args, io) {
    const [sub, ...rest] = args;
    const { values: v, positionals } = parse(rest);
    const dbPath = resolveDbPath(v.db, io.env, io.cwd);
    switch (sub) {
      case 'list':
      case 'show':
      case 'flaky':
      case 'prune':
        if (!existsSync(dbPath)) {
          if (sub === 'show') throw new RunNotFound(positionals[0] ?? '(none given)', dbPath);
          io.out(`no runs recorded yet (no database at ${dbPath})\n`);
          return 0;
        }
        return withDb(dbPath, (db) => read(sub, db, v, positionals, io));
      case 'merge': {
        if (!v.out) throw new UsageError('merge needs -o OUT.db');
        if (positionals.length === 0) throw new UsageError('merge needs at least one input database');
        const res = await mergeDatabases(positionals.map((p) => resolveDbPath(p, io.env, io.cwd)), resolveDbPath(v.out, io.env, io.cwd));
        for (const i of res.inputs) io.out(`${i.path}: ${i.runs} runs merged${i.skipped.length ? `, ${i.skipped.length} already present (skipped)` : ''}\n`);
        io.out(`wrote ${res.out}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'expected a subcommand');
    }
  },
};

type Flags = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        db: { type: 'string' },
        json: { type: 'boolean', default: false },
        scenario: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        last: { type: 'string' },
        'older-than': { type: 'string' },
        out: { type: 'string', short: 'o' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function withDb(path: string, fn: (db: Db) => number): Promise<number> {
  const db = await openDatabase(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function read(sub: 'list' | 'show' | 'flaky' | 'prune', db: Db, v: Flags, positionals: string[], io: CliIo): number {
  markAbandonedRunsAborted(db); // a crashed run shows as aborted, not running forever
  if (sub === 'list') {
    if (v.status && !STATUSES.includes(v.status)) throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}, got "${v.status}"`);
    const runs = listRuns(db, { scenario: v.scenario, status: v.status, limit: positiveInt('--limit', v.limit, 20) });
    io.out(v.json ? JSON.stringify(runs, null, 2) + '\n' : formatRunList(runs));
    return 0;
  }
  if (sub === 'show') {
    const [id] = positionals;
    if (!id) throw new UsageError('show needs a run id');
    const report = loadRunReport(db, resolveRunId(db, id));
    io.out(v.json ? runReportJson(report) : formatRunReport(report, { recordedBy: runsLinkingTo(db, report.id) }));
    return 0;
  }
  if (sub === 'flaky') {
    const last = positiveInt('--last', v.last, 20);
    const rows = flakySteps(db, { last, scenario: v.scenario });
    io.out(v.json ? JSON.stringify(rows, null, 2) + '\n' : formatFlaky(rows, last));
    return 0;
  }
  if (!v['older-than']) throw new UsageError('prune needs --older-than DURATION (e.g. 30d)');
  const removed = pruneRuns(db, Date.now() - parseDuration(v['older-than']));
  io.out(`pruned ${removed} runs older than ${v['older-than']}\n`);
  return 0;
}

function positiveInt(flag: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: expected a positive integer, got "${raw}"`);
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d" -> milliseconds. Units: s, m, h, d, w. */
export function parseDuration(s: string): number {
  const m = /^(\d+)([smhdw])$/.exec(s.trim());
  if (!m) throw new UsageError(`expected a duration like 30d, 12h, 90m or 2w, got "${s}"`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
