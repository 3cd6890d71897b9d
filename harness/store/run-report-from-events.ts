// Folds a run's event stream into its RunReport (what the JSON reporter writes), with the redaction and timeline
// mapping load-run-report.ts applies when it reads the same run back from SQLite.
import type { HarnessEvent } from '../events.js';
import { redact, redactDeep, redactOpt } from '../redact.js';
import { summarize, type ReportContainer, type ReportTask, type ReportVm, type RunReport } from './run-report.js';
import { timelineEntryFor } from './timeline.js';

/** Normalizes through JSON, as the database does: undefined fields vanish, objects become plain. */
const viaJson = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

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
