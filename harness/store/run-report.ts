// One run's story as data: what `harness runs show --json` prints (read back from SQLite by load-run-report.ts)
// and what the JSON reporter writes (folded from the event stream by run-report-from-events.ts). Both apply the
// same redaction and the same timeline mapping, so for the same run they are equal; a test holds them to it.
import type { RunStatus, StepStatus } from '../events.js';
import type { TimelineEntry } from './timeline.js';

export type { TimelineEntry } from './timeline.js';

export interface ReportVm {
  name: string;
  provider: string | null;
  arch: string | null;
  cpus: number | null;
  memoryMiB: number | null;
  disk: string | null;
  sshPort: number | null;
  dir: string | null;
  accel: string | null;
  accelReason: string | null;
  status: string | null;
  createdAt: number | null;
  lastStartedAt: number | null;
  lastStoppedAt: number | null;
}

export interface ReportStep {
  index: number;
  name: string;
  on: string;
  status: StepStatus;
  durationMs: number;
  finishedAt: number;
  command: string | null;
  exitCode: number | null;
  error: string | null;
  stdoutTail: string | null;
  stderrTail: string | null;
  /** Bytes the output cap dropped from the start of each stream (null: no command ran, or an older record). */
  droppedBytes: { stdout: number; stderr: number } | null;
  /** The cap per stream: only the last outputCapBytes bytes of each were kept. */
  outputCapBytes: number | null;
}

export interface ReportTask {
  vm: string | null;
  provider: string;
  taskId: string;
  operation: string;
  status: 'running' | 'stopped';
  exitStatus: string | null;
  startedAt: number;
  updatedAt: number;
}

export interface ReportContainer {
  name: string;
  id: string | null;
  image: string;
  status: string;
  ports: Array<{ container: number; host: number }>;
  createdAt: number;
  updatedAt: number;
}

export interface RunReport {
  id: string;
  scenario: string;
  file: string;
  status: RunStatus;
  host: string;
  /** Accelerators the run's VMs used, sorted and comma-joined ("tcg", "kvm,tcg"); null when none reported. */
  accel: string | null;
  options: Record<string, unknown>;
  startedAt: number;
  finishedAt: number | null;
  durationMs: number | null;
  exitCode: number | null;
  error: string | null;
  summary: { total: number; passed: number; failed: number; skipped: number };
  vms: ReportVm[];
  steps: ReportStep[];
  timeline: TimelineEntry[];
  artifacts: Array<{ vm: string | null; kind: string; path: string; at: number }>;
  tasks: ReportTask[];
  containers: ReportContainer[];
  logs: Array<{ level: 'info' | 'warn' | 'error'; message: string; at: number }>;
}

/** The one serialization of a RunReport: the JSON reporter writes it and `runs show --json` prints it. */
export function runReportJson(report: RunReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/** Step counts by status: both report builders derive the summary from the steps the same way. */
export function summarize(steps: readonly ReportStep[]): RunReport['summary'] {
  const count = (s: StepStatus) => steps.filter((x) => x.status === s).length;
  return { total: steps.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
}
