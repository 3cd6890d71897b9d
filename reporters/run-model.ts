// Folds the event stream into one model per run (VMs with their phases, steps, console tails), so the terminal
// summary, JUnit and HTML reporters read the same facts instead of each re-deriving them from raw events.
import type { Accel, HarnessEvent, RunStatus, Severity, StepStatus, TeardownPolicy, VmStatus } from '../harness/events.js';
import { Tail } from './text.js';

export interface Span {
  start: number;
  end?: number;
}

export interface VmModel {
  name: string;
  provider?: string;
  arch?: string;
  cpus?: number;
  memoryMiB?: number;
  sshPort?: number;
  dir?: string;
  accel?: { accel: Accel; reason: string };
  image?: Span & { builder: string; reused?: boolean; cacheKey?: string; path?: string };
  /** From the first Starting status (or creation) to SSH ready or failure. */
  boot?: Span & { readyElapsedMs?: number; outcome?: 'ready' | 'failed' };
  waiting?: { phase: string; elapsedMs: number; lastError?: string };
  teardown?: Span & { policy: TeardownPolicy; action?: 'destroyed' | 'kept' | 'disk-preserved'; hint?: string };
  status: VmStatus;
  /** Error-severity events and Error status messages, in order. */
  errors: Array<{ at: number; message: string; severity: Severity }>;
  console: Tail<string>;
  consoleLogPath?: string;
}

export interface StepModel {
  index: number;
  name: string;
  on: string;
  startedAt?: number;
  finishedAt?: number;
  status: StepStatus | 'running';
  durationMs?: number;
  command?: string;
  exitCode?: number | null;
  error?: string;
  stdoutTail?: string;
  stderrTail?: string;
  droppedBytes?: { stdout: number; stderr: number };
  outputCapBytes?: number;
}

export interface RunModel {
  runId: string;
  scenario: string;
  file?: string;
  host?: string;
  startedAt: number;
  finishedAt?: number;
  lastEventAt: number;
  status: RunStatus;
  exitCode?: number;
  durationMs?: number;
  error?: string;
  vms: Map<string, VmModel>;
  steps: StepModel[];
  logs: Array<{ at: number; level: 'info' | 'warn' | 'error'; message: string }>;
  artifacts: Array<{ vm?: string; kind: string; path: string }>;
}

export interface CollectorOptions {
  /** Console lines kept per VM. */
  consoleLines?: number;
}

/** Keeps a RunModel per runId; `apply` each event in order. */
export class RunCollector {
  readonly runs = new Map<string, RunModel>();
  private readonly consoleLines: number;
  constructor(options: CollectorOptions = {}) {
    this.consoleLines = options.consoleLines ?? 500;
  }

  run(runId: string, at: number): RunModel {
    let r = this.runs.get(runId);
    if (!r) {
      r = { runId, scenario: runId, startedAt: at, lastEventAt: at, status: 'running', vms: new Map(), steps: [], logs: [], artifacts: [] };
      this.runs.set(runId, r);
    }
    return r;
  }

  vm(r: RunModel, name: string): VmModel {
    let v = r.vms.get(name);
    if (!v) {
      v = { name, status: 'NotCreated', errors: [], console: new Tail(this.consoleLines) };
      r.vms.set(name, v);
    }
    return v;
  }

  apply(e: HarnessEvent): RunModel {
    const r = this.run(e.runId, e.at);
    r.lastEventAt = Math.max(r.lastEventAt, e.at);
    switch (e.type) {
      case 'run.started':
        Object.assign(r, { scenario: e.scenario, file: e.file, host: e.host, startedAt: e.at, status: 'running' });
        break;
      case 'run.finished':
        Object.assign(r, { status: e.status, exitCode: e.exitCode, durationMs: e.durationMs, finishedAt: e.at, error: e.error });
        for (const v of r.vms.values()) endBoot(v, e.at);
        break;
      case 'image.started':
        this.vm(r, e.vm).image = { start: e.at, builder: e.builder };
        break;
      case 'image.finished': {
        const v = this.vm(r, e.vm);
        v.image = { start: v.image?.start ?? e.at - e.durationMs, end: e.at, builder: e.builder, reused: e.reused, cacheKey: e.cacheKey, path: e.path };
        break;
      }
      case 'vm.created': {
        const v = this.vm(r, e.vm);
        Object.assign(v, { provider: e.provider, arch: e.arch, cpus: e.cpus, memoryMiB: e.memoryMiB, sshPort: e.sshPort, dir: e.dir });
        v.boot ??= { start: e.at };
        break;
      }
      case 'vm.accel':
        this.vm(r, e.vm).accel = { accel: e.accel, reason: e.reason };
        break;
      case 'vm.status': {
        const v = this.vm(r, e.vm);
        v.status = e.to;
        if (e.to === 'Starting') v.boot ??= { start: e.at };
        if (e.to === 'Error') {
          // An Error status usually follows the event that explains it; keep only the explanation then.
          if (v.errors.length === 0) v.errors.push({ at: e.at, message: e.message ?? `status ${e.from} -> Error`, severity: 'Error' });
          if (v.boot && v.boot.end === undefined) Object.assign(v.boot, { end: e.at, outcome: 'failed' });
        }
        break;
      }
      case 'vm.waiting': {
        const v = this.vm(r, e.vm);
        v.waiting = { phase: e.phase, elapsedMs: e.elapsedMs, lastError: e.lastError };
        v.boot ??= { start: e.at - e.elapsedMs };
        break;
      }
      case 'vm.ready': {
        const v = this.vm(r, e.vm);
        v.boot ??= { start: e.at - e.elapsedMs };
        Object.assign(v.boot, { end: e.at, readyElapsedMs: e.elapsedMs, outcome: 'ready' });
        v.waiting = undefined;
        break;
      }
      case 'vm.event':
        if (e.severity === 'Error' || e.severity === 'Critical') this.vm(r, e.vm).errors.push({ at: e.at, message: e.message, severity: e.severity });
        break;
      case 'vm.log':
        if (e.stream === 'console' || e.stream === 'container') this.vm(r, e.vm).console.push(e.line);
        break;
      case 'step.started':
        r.steps.push({ index: e.index, name: e.name, on: e.on, startedAt: e.at, status: 'running' });
        break;
      case 'step.finished': {
        let s = r.steps.find((x) => x.index === e.index && x.status === 'running');
        if (!s) r.steps.push((s = { index: e.index, name: e.name, on: e.on, status: 'running' }));
        Object.assign(s, {
          status: e.status,
          finishedAt: e.at,
          startedAt: s.startedAt ?? e.at - e.durationMs,
          durationMs: e.durationMs,
          command: e.command,
          exitCode: e.exitCode,
          error: e.error,
          stdoutTail: e.stdoutTail,
          stderrTail: e.stderrTail,
          droppedBytes: e.droppedBytes,
          outputCapBytes: e.outputCapBytes,
        });
        break;
      }
      case 'artifact':
        r.artifacts.push({ vm: e.vm, kind: e.kind, path: e.path });
        if (e.vm && e.kind === 'console-log') this.vm(r, e.vm).consoleLogPath = e.path;
        break;
      case 'teardown.started': {
        const v = this.vm(r, e.vm);
        endBoot(v, e.at);
        v.teardown = { start: e.at, policy: e.policy };
        break;
      }
      case 'teardown.finished': {
        const v = this.vm(r, e.vm);
        v.teardown = { start: v.teardown?.start ?? e.at, end: e.at, policy: e.policy, action: e.action, hint: e.hint };
        break;
      }
      case 'log':
        r.logs.push({ at: e.at, level: e.level, message: e.message });
        break;
      default:
        break;
    }
    return r;
  }
}

/** A boot still open when teardown or the end of the run comes never reached SSH (a timeout, or interrupted). */
function endBoot(v: VmModel, at: number): void {
  if (v.boot && v.boot.end === undefined) Object.assign(v.boot, { end: at, outcome: 'failed' });
}

/** Why a VM never became ready: the run's error when it names the VM (BootTimeout, VmExited), else what is known. */
export function bootFailure(r: RunModel, v: VmModel): string | undefined {
  if (v.boot?.outcome !== 'failed') return undefined;
  const first = r.error?.split('\n')[0];
  if (first && first.split(/[\s:(),]+/).includes(v.name)) return first;
  if (v.errors[0]) return v.errors[0].message;
  return `did not answer SSH before the run ended${v.waiting ? ` (waited ${Math.round(v.waiting.elapsedMs / 1000)}s)` : ''}`;
}

/** Counts of finished steps. */
export function stepCounts(r: RunModel): { passed: number; failed: number; skipped: number; total: number } {
  const c = { passed: 0, failed: 0, skipped: 0, total: r.steps.length };
  for (const s of r.steps) if (s.status !== 'running') c[s.status]++;
  return c;
}

/** Where the run ended, or the last event seen if it never finished. */
export function runEnd(r: RunModel): number {
  return r.finishedAt ?? r.lastEventAt;
}

/** The keep hint: what to type to reach a VM that was kept alive. */
export function keepHint(v: VmModel): string | undefined {
  if (!v.teardown || v.teardown.action === 'destroyed') return undefined;
  return v.teardown.hint ?? (v.teardown.action === 'kept' ? `harness vm ssh ${v.name}` : undefined);
}
