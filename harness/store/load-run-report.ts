// Reads one run's report back from SQLite; run-report-from-events.ts folds the same report from the events.
import { HarnessError } from '../errors.js';
import type { Db } from './db.js';
import { summarize, type ReportContainer, type ReportStep, type ReportTask, type ReportVm, type RunReport, type TimelineEntry } from './run-report.js';

/** No run with that id (or id prefix) in the database. */
export class RunNotFound extends HarnessError {
  constructor(readonly runId: string, readonly dbPath: string) {
    super(`expected a run with id ${runId} in ${dbPath}, found none (harness runs list shows the ids)`);
  }
}

const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

export function loadRunReport(db: Db, runId: string): RunReport {
  const run = db.prepare(`SELECT id, scenario, file, status, host, accel, options, started_at AS startedAt, finished_at AS finishedAt,
      duration_ms AS durationMs, exit_code AS exitCode, error FROM runs WHERE id = ?`).get(runId) as
    | (Omit<RunReport, 'options' | 'summary' | 'vms' | 'steps' | 'timeline' | 'artifacts' | 'tasks' | 'containers' | 'logs'> & { options: string })
    | undefined;
  if (!run) throw new RunNotFound(runId, db.name);
  const all = <T>(sql: string) => db.prepare(sql).all(runId) as T[];
  const vms = all<ReportVm>(`SELECT name, provider, arch, cpus, memory_mib AS memoryMiB, disk, ssh_port AS sshPort, dir, accel,
      accel_reason AS accelReason, status, created_at AS createdAt, last_started_at AS lastStartedAt, last_stopped_at AS lastStoppedAt
      FROM vms WHERE run_id = ? ORDER BY id`);
  type StepRow = Omit<ReportStep, 'droppedBytes'> & { stdoutDropped: number | null; stderrDropped: number | null };
  const steps = all<StepRow>(`SELECT idx AS "index", name, target AS "on", status, duration_ms AS durationMs, finished_at AS finishedAt,
      command, exit_code AS exitCode, error, stdout_tail AS stdoutTail, stderr_tail AS stderrTail, stdout_dropped_bytes AS stdoutDropped,
      stderr_dropped_bytes AS stderrDropped, output_cap_bytes AS outputCapBytes FROM steps WHERE run_id = ? ORDER BY id`,
  ).map(({ stdoutDropped, stderrDropped, outputCapBytes, ...s }): ReportStep => ({
    ...s,
    droppedBytes: stdoutDropped === null && stderrDropped === null ? null : { stdout: stdoutDropped ?? 0, stderr: stderrDropped ?? 0 },
    outputCapBytes,
  }));
  const timeline = all<Omit<TimelineEntry, 'details'> & { details: string | null }>(
    `SELECT at, vm, type, severity, message, details FROM vm_events WHERE run_id = ? ORDER BY id`,
  ).map((t) => ({ ...t, details: parse<Record<string, unknown>>(t.details) }));
  const artifacts = all<RunReport['artifacts'][number]>(`SELECT vm, kind, path, at FROM artifacts WHERE run_id = ? ORDER BY id`);
  const tasks = all<ReportTask>(`SELECT vm, provider, task_id AS taskId, operation, status, exit_status AS exitStatus,
      started_at AS startedAt, updated_at AS updatedAt FROM tasks WHERE run_id = ? ORDER BY id`);
  const containers = all<Omit<ReportContainer, 'ports'> & { ports: string }>(`SELECT name, container_id AS id, image, status, ports,
      created_at AS createdAt, updated_at AS updatedAt FROM containers WHERE run_id = ? ORDER BY id`).map((c) => ({ ...c, ports: JSON.parse(c.ports) as ReportContainer['ports'] }));
  const logs = all<RunReport['logs'][number]>(`SELECT level, message, at FROM run_logs WHERE run_id = ? ORDER BY id`);
  return {
    ...run,
    options: JSON.parse(run.options) as Record<string, unknown>,
    summary: summarize(steps),
    vms, steps, timeline, artifacts, tasks, containers, logs,
  };
}
