// Queries behind `harness runs list | flaky | prune` and run-id lookup.
import type { RunReport } from '../run-report.js';
import type { Db } from '../db.js';
import { RunNotFound } from '../load-run-report.js';

/** One line of `runs list`: the report's header fields plus its step counts. */
export type RunSummary = Pick<RunReport, 'id' | 'scenario' | 'file' | 'status' | 'host' | 'accel' | 'startedAt' | 'finishedAt' | 'durationMs'> &
  Omit<RunReport['summary'], 'total'>;

export function listRuns(db: Db, f: { scenario?: string; status?: string; limit?: number } = {}): RunSummary[] {
  return db
    .prepare(
      `SELECT r.id, r.scenario, r.file, r.status, r.host, r.accel, r.started_at AS startedAt, r.finished_at AS finishedAt,
         r.duration_ms AS durationMs,
         (SELECT count(*) FROM steps s WHERE s.run_id = r.id AND s.status = 'passed') AS passed,
         (SELECT count(*) FROM steps s WHERE s.run_id = r.id AND s.status = 'failed') AS failed,
         (SELECT count(*) FROM steps s WHERE s.run_id = r.id AND s.status = 'skipped') AS skipped
       FROM runs r
       WHERE (@scenario IS NULL OR r.scenario = @scenario) AND (@status IS NULL OR r.status = @status)
       ORDER BY r.started_at DESC, r.rowid DESC LIMIT @limit`,
    )
    .all({ scenario: f.scenario ?? null, status: f.status ?? null, limit: f.limit ?? 20 }) as RunSummary[];
}

/** Whether run `id` (a full id) is in the record. */
export function runExists(db: Db, id: string): boolean {
  return db.prepare('SELECT 1 FROM runs WHERE id = ?').get(id) !== undefined;
}

/** Resolves a full id or a unique prefix of one (ids are long; people type the start). */
export function resolveRunId(db: Db, idOrPrefix: string): string {
  const exact = db.prepare('SELECT id FROM runs WHERE id = ?').pluck().get(idOrPrefix) as string | undefined;
  if (exact) return exact;
  const matches = db.prepare(`SELECT id FROM runs WHERE substr(id, 1, length(@p)) = @p ORDER BY id LIMIT 3`).pluck().all({ p: idOrPrefix }) as string[];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new RunNotFound(`${idOrPrefix} (ambiguous: matches ${matches.join(', ')}...)`, db.name);
  throw new RunNotFound(idOrPrefix, db.name);
}

export interface FlakyStep {
  scenario: string;
  step: string;
  runs: number;
  passed: number;
  failed: number;
  lastFailedRun: string;
}

/** Steps that both passed and failed within the last `last` finished runs of each scenario. */
export function flakySteps(db: Db, f: { last?: number; scenario?: string } = {}): FlakyStep[] {
  return db
    .prepare(
      `WITH recent AS (
         SELECT id, scenario, started_at, row_number() OVER (PARTITION BY scenario ORDER BY started_at DESC, rowid DESC) AS rn
         FROM runs WHERE status <> 'running' AND (@scenario IS NULL OR scenario = @scenario)
       )
       SELECT r.scenario, s.name AS step, count(DISTINCT s.run_id) AS runs,
         sum(s.status = 'passed') AS passed, sum(s.status = 'failed') AS failed,
         (SELECT s2.run_id FROM steps s2 JOIN recent r2 ON r2.id = s2.run_id AND r2.rn <= @last
           WHERE r2.scenario = r.scenario AND s2.name = s.name AND s2.status = 'failed' ORDER BY r2.started_at DESC LIMIT 1) AS lastFailedRun
       FROM steps s JOIN recent r ON r.id = s.run_id AND r.rn <= @last
       GROUP BY r.scenario, s.name
       HAVING sum(s.status = 'passed') > 0 AND sum(s.status = 'failed') > 0
       ORDER BY failed DESC, r.scenario, s.name`,
    )
    .all({ last: f.last ?? 20, scenario: f.scenario ?? null }) as FlakyStep[];
}

/** Deletes finished runs that started before `before` (epoch ms) with all their rows; returns how many. */
export function pruneRuns(db: Db, before: number): number {
  return db.prepare(`DELETE FROM runs WHERE started_at < ? AND status <> 'running'`).run(before).changes;
}

/** Runs whose options list `runId` in scenarioRuns: the vitest reporter's run for the test file whose suite recorded it. */
export function runsLinkingTo(db: Db, runId: string): string[] {
  return db
    .prepare(`SELECT r.id FROM runs r, json_each(CASE WHEN json_valid(r.options) THEN r.options ELSE '{}' END, '$.scenarioRuns') j
      WHERE instr(r.options, @id) > 0 AND j.value = @id ORDER BY r.started_at, r.id`)
    .pluck()
    .all({ id: runId }) as string[];
}
