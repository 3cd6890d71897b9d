// One run's story as data: what `harness runs show --json` prints (read back from SQLite by loadRunReport) and
// what the JSON reporter writes (folded from the event stream by runReportFromEvents). Both apply the same
// redaction and the same timeline mapping, so for the same run they are equal; a test holds them to it.
import type { HarnessEvent, RunStatus, StepStatus } from '../events.js';
import { redact, redactDeep, redactOpt } from '../redact.js';
import { timelineEntryFor, type TimelineEntry } from './timeline.js';

export { loadRunReport } from './load-run-report.js';
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

/** Normalizes through JSON, as the database does: undefined fields vanish, objects become plain. */
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export function summarize(steps: readonly ReportStep[]): RunReport['summary'] {
  const count = (s: StepStatus) => steps.filter((x) => x.status === s).length;
  return { total: steps.length, passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
}

/** Folds a run's events into its report (events of other runs are ignored). Throws if no event belongs to it. */
export function runReportFromEvents(events: readonly HarnessEvent[], runId: string | undefined = events[0]?.runId, host = ''): RunReport {
  const mine = events.filter((e) => e.runId === runId);
  const first = mine[0];
  if (!first || runId === undefined) throw new Error(`expected events of run ${runId ?? '(any)'}, found none among ${events.length}`);
  const r: RunReport = {
    id: runId, scenario: '', file: '', status: 'running', host, accel: null, options: {}, startedAt: first.at,
    finishedAt: null, durationMs: null, exitCode: null, error: null,
    summary: { total: 0, passed: 0, failed: 0, skipped: 0 }, vms: [], steps: [], timeline: [], artifacts: [], tasks: [], containers: [], logs: [],
  };
  const vms = new Map<string, ReportVm>();
  const vm = (name: string): ReportVm => {
    let v = vms.get(name);
    if (!v) {
      v = { name, provider: null, arch: null, cpus: null, memoryMiB: null, disk: null, sshPort: null, dir: null, accel: null, accelReason: null, status: null, createdAt: null, lastStartedAt: null, lastStoppedAt: null };
      vms.set(name, v);
    }
    return v;
  };
  const tasks = new Map<string, ReportTask>();
  const containers = new Map<string, ReportContainer>();
  for (const e of mine) {
    const entry = timelineEntryFor(e);
    if (entry) r.timeline.push({ ...entry, vm: redact(entry.vm), message: redact(entry.message), details: entry.details ? viaJson(redactDeep(entry.details)) : null });
    switch (e.type) {
      case 'run.started':
        Object.assign(r, { scenario: redact(e.scenario), file: redact(e.file), host: redact(e.host), startedAt: e.at, options: viaJson(redactDeep(e.options)) });
        break;
      case 'run.finished':
        Object.assign(r, { status: e.status, finishedAt: e.at, durationMs: e.durationMs, exitCode: e.exitCode, error: redactOpt(e.error) });
        break;
      case 'vm.created':
        Object.assign(vm(redact(e.vm)), {
          provider: redact(e.provider), arch: redact(e.arch), cpus: e.cpus, memoryMiB: e.memoryMiB, disk: redactOpt(e.disk),
          sshPort: e.sshPort ?? null, dir: redact(e.dir), createdAt: e.at,
        });
        break;
      case 'vm.accel': {
        Object.assign(vm(redact(e.vm)), { accel: e.accel, accelReason: redact(e.reason) });
        const all = [...new Set([...vms.values()].map((v) => v.accel).filter((a): a is string => a !== null))].sort();
        r.accel = all.length ? all.join(',') : null;
        break;
      }
      case 'vm.status': {
        const v = vm(redact(e.vm));
        v.status = e.to;
        if (e.to === 'Running') v.lastStartedAt = e.at;
        if (e.to === 'Stopped') v.lastStoppedAt = e.at;
        break;
      }
      case 'step.finished':
        r.steps.push({
          index: e.index, name: redact(e.name), on: redact(e.on), status: e.status, durationMs: e.durationMs, finishedAt: e.at,
          command: redactOpt(e.command), exitCode: e.exitCode ?? null, error: redactOpt(e.error), stdoutTail: redactOpt(e.stdoutTail), stderrTail: redactOpt(e.stderrTail),
          droppedBytes: e.droppedBytes ? { stdout: e.droppedBytes.stdout, stderr: e.droppedBytes.stderr } : null, outputCapBytes: e.outputCapBytes ?? null,
        });
        break;
      case 'artifact':
        r.artifacts.push({ vm: redactOpt(e.vm), kind: e.kind, path: redact(e.path), at: e.at });
        break;
      case 'task': {
        const key = `${e.provider}\0${redact(e.taskId)}`;
        const t = tasks.get(key);
        if (t) Object.assign(t, { vm: e.vm !== undefined ? redact(e.vm) : t.vm, status: e.status, exitStatus: redactOpt(e.exitStatus), updatedAt: e.at });
        else tasks.set(key, { vm: redactOpt(e.vm), provider: redact(e.provider), taskId: redact(e.taskId), operation: redact(e.operation), status: e.status, exitStatus: redactOpt(e.exitStatus), startedAt: e.at, updatedAt: e.at });
        break;
      }
      case 'container.state': {
        const name = redact(e.name);
        const c = containers.get(name);
        const next = { image: redact(e.image), status: redact(e.status), ports: viaJson(e.ports), updatedAt: e.at };
        if (c) Object.assign(c, next, { id: e.id !== undefined ? redact(e.id) : c.id });
        else containers.set(name, { name, id: redactOpt(e.id), image: next.image, status: next.status, ports: next.ports, createdAt: e.at, updatedAt: e.at });
        break;
      }
      case 'log':
        r.logs.push({ level: e.level, message: redact(e.message), at: e.at });
        break;
      default:
        break;
    }
  }
  r.vms = [...vms.values()];
  r.tasks = [...tasks.values()];
  r.containers = [...containers.values()];
  r.summary = summarize(r.steps);
  return r;
}
