// Maps harness events to rows. The only code that writes run records: the SQLite recorder hands it batches.
// Every text column goes through redaction here, so no caller can store a secret by forgetting to.
import { hostname } from 'node:os';
import type { HarnessEvent } from '../events.js';
import { LineRedactor, redact, redactDeep, redactOpt } from '../redact.js';
import type { Db } from './db.js';
import { timelineEntryFor } from './timeline.js';

export const DEFAULT_LOG_CAP_PER_VM = 500;

export interface WriterOptions {
  /** command_logs lines kept per VM per run; older lines are deleted after each batch. */
  logCapPerVm?: number;
  /** Recorded on run rows so crashed runs can be found (markAbandonedRunsAborted). */
  pid?: number;
  host?: string;
  /**
   * Append to runs already in the database (e.g. `harness vm stop` on a VM a past run kept): events of a run that is
   * not there are dropped (counted in `dropped`) instead of being kept under a placeholder `running` run.
   */
  existingRunsOnly?: boolean;
}

const json = (v: unknown): string => JSON.stringify(redactDeep(v));

export class EventWriter {
  private readonly known = new Set<string>();
  private readonly lines = new LineRedactor();
  private readonly cap: number;
  private readonly pid: number;
  private readonly host: string;
  private readonly s: Statements;
  private readonly batch: (events: readonly HarnessEvent[]) => void;
  private readonly existingRunsOnly: boolean;
  /** Events dropped because their run is not in the database (only with existingRunsOnly). */
  dropped = 0;

  constructor(db: Db, opts: WriterOptions = {}) {
    this.cap = opts.logCapPerVm ?? DEFAULT_LOG_CAP_PER_VM;
    this.pid = opts.pid ?? process.pid;
    this.host = opts.host ?? hostname();
    this.existingRunsOnly = opts.existingRunsOnly ?? false;
    this.s = prepareStatements(db);
    // IMMEDIATE: take the write lock up front, so two writers queue on busy_timeout instead of deadlocking.
    const tx = db.transaction((events: readonly HarnessEvent[]) => {
      const touchedLogs = new Map<string, [string, string]>();
      for (const e of events) {
        this.writeOne(e);
        if (e.type === 'vm.log') touchedLogs.set(`${e.runId}\0${e.vm}`, [e.runId, e.vm]);
      }
      for (const [runId, vm] of touchedLogs.values()) this.s.pruneLogs.run({ run: runId, vm, cap: this.cap });
    });
    this.batch = (events) => tx.immediate(events);
  }

  /** Writes events in one transaction. On failure nothing of the batch is stored and the error is rethrown. */
  write(events: readonly HarnessEvent[]): void {
    if (events.length === 0) return;
    try {
      this.batch(events);
    } catch (e) {
      this.known.clear(); // the rollback may have undone run rows this writer thought existed
      throw e;
    }
  }

  private writeOne(e: HarnessEvent): void {
    const s = this.s;
    const run = e.runId;
    if (e.type === 'run.started') {
      s.startRun.run(run, redact(e.scenario), redact(e.file), e.at, redact(e.host), this.pid, json(e.options));
      this.known.add(run);
      return;
    }
    if (!this.known.has(run) && this.existingRunsOnly) {
      if (s.runExists.get(run) === undefined) {
        this.dropped++;
        return;
      }
      this.known.add(run);
    }
    if (!this.known.has(run)) {
      // An event for a run whose start we never saw (recorder attached late): keep it, under a placeholder run.
      s.ensureRun.run(run, e.at, this.host, this.pid);
      this.known.add(run);
    }
    const entry = timelineEntryFor(e);
    if (entry) {
      s.vmEvent.run(run, redact(entry.vm), entry.type, entry.severity, redact(entry.message), entry.details ? json(entry.details) : null, entry.at);
    }
    switch (e.type) {
      case 'run.finished':
        s.finishRun.run(e.status, e.at, e.durationMs, e.exitCode, redactOpt(e.error), run);
        break;
      case 'vm.created': {
        const vm = redact(e.vm);
        s.vmCreated.run(run, vm, redact(e.provider), redact(e.arch), e.cpus, e.memoryMiB, redactOpt(e.disk), e.sshPort ?? null, redact(e.dir), e.at);
        s.snapshot.run(run, 'vm', vm, json({ provider: e.provider, arch: e.arch, cpus: e.cpus, memoryMiB: e.memoryMiB, sshPort: e.sshPort ?? null, dir: e.dir }), 'created', e.at);
        break;
      }
      case 'vm.accel':
        s.vmAccel.run(run, redact(e.vm), e.accel, redact(e.reason));
        s.runAccel.run({ run });
        break;
      case 'vm.status': {
        const vm = redact(e.vm);
        s.vmStatus.run(run, vm, e.to, e.to === 'Running' ? e.at : null, e.to === 'Stopped' ? e.at : null);
        s.snapshot.run(run, 'vm', vm, json({ status: e.to, from: e.from, message: e.message ?? null }), 'updated', e.at);
        break;
      }
      case 'teardown.finished':
        if (e.action === 'destroyed') s.snapshot.run(run, 'vm', redact(e.vm), json({ policy: e.policy }), 'deleted', e.at);
        break;
      case 'vm.log':
        s.log.run(run, redact(e.vm), e.stream, this.lines.line(`${run}\0${e.vm}\0${e.stream}`, e.line), e.at);
        break;
      case 'step.finished':
        s.step.run(run, e.index, redact(e.name), redact(e.on), e.status, e.durationMs, redactOpt(e.error), redactOpt(e.command),
          e.exitCode ?? null, redactOpt(e.stdoutTail), redactOpt(e.stderrTail), e.at,
          e.droppedBytes?.stdout ?? null, e.droppedBytes?.stderr ?? null, e.outputCapBytes ?? null);
        break;
      case 'artifact':
        s.artifact.run(run, redactOpt(e.vm), e.kind, redact(e.path), e.at);
        break;
      case 'task':
        s.task.run(run, redactOpt(e.vm), redact(e.provider), redact(e.taskId), redact(e.operation), e.status, redactOpt(e.exitStatus), e.at, e.at);
        break;
      case 'container.state': {
        const name = redact(e.name);
        const existed = s.containerExists.get(run, name) !== undefined;
        const ports = JSON.stringify(e.ports);
        s.container.run(run, redactOpt(e.id), name, redact(e.image), redact(e.status), ports, e.at, e.at);
        s.snapshot.run(run, 'container', name, json({ id: e.id ?? null, image: e.image, status: e.status, ports: e.ports }), existed ? 'updated' : 'created', e.at);
        break;
      }
      case 'log':
        s.runLog.run(run, e.level, redact(e.message), e.at);
        break;
      default:
        // image.started, vm.waiting, vm.ready, vm.event, step.started, teardown.started: timeline only or transient.
        break;
    }
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: Db) {
  const p = (sql: string) => db.prepare(sql);
  return {
    runExists: p(`SELECT 1 FROM runs WHERE id = ?`).pluck(),
    ensureRun: p(`INSERT OR IGNORE INTO runs (id, status, started_at, host, pid) VALUES (?, 'running', ?, ?, ?)`),
    startRun: p(`INSERT INTO runs (id, scenario, file, status, started_at, host, pid, options) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)
      ON CONFLICT(id) DO UPDATE SET scenario = excluded.scenario, file = excluded.file, started_at = excluded.started_at,
        host = excluded.host, pid = excluded.pid, options = excluded.options`),
    finishRun: p(`UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, exit_code = ?, error = ? WHERE id = ?`),
    vmCreated: p(`INSERT INTO vms (run_id, name, provider, arch, cpus, memory_mib, disk, ssh_port, dir, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET provider = excluded.provider, arch = excluded.arch, cpus = excluded.cpus,
        memory_mib = excluded.memory_mib, disk = excluded.disk, ssh_port = excluded.ssh_port, dir = excluded.dir, created_at = excluded.created_at`),
    vmAccel: p(`INSERT INTO vms (run_id, name, accel, accel_reason) VALUES (?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET accel = excluded.accel, accel_reason = excluded.accel_reason`),
    runAccel: p(`UPDATE runs SET accel = (SELECT group_concat(accel, ',') FROM
      (SELECT DISTINCT accel FROM vms WHERE run_id = @run AND accel IS NOT NULL ORDER BY accel)) WHERE id = @run`),
    vmStatus: p(`INSERT INTO vms (run_id, name, status, last_started_at, last_stopped_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET status = excluded.status,
        last_started_at = coalesce(excluded.last_started_at, last_started_at),
        last_stopped_at = coalesce(excluded.last_stopped_at, last_stopped_at)`),
    vmEvent: p(`INSERT INTO vm_events (run_id, vm, type, severity, message, details, at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    snapshot: p(`INSERT INTO state_snapshots (run_id, resource_type, resource_id, data, change_type, at) VALUES (?, ?, ?, ?, ?, ?)`),
    step: p(`INSERT INTO steps (run_id, idx, name, target, status, duration_ms, error, command, exit_code, stdout_tail, stderr_tail, finished_at,
        stdout_dropped_bytes, stderr_dropped_bytes, output_cap_bytes)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    log: p(`INSERT INTO command_logs (run_id, vm, stream, line, at) VALUES (?, ?, ?, ?, ?)`),
    pruneLogs: p(`DELETE FROM command_logs WHERE run_id = @run AND vm = @vm AND id <=
      (SELECT id FROM command_logs WHERE run_id = @run AND vm = @vm ORDER BY id DESC LIMIT 1 OFFSET @cap)`),
    artifact: p(`INSERT INTO artifacts (run_id, vm, kind, path, at) VALUES (?, ?, ?, ?, ?)`),
    task: p(`INSERT INTO tasks (run_id, vm, provider, task_id, operation, status, exit_status, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(run_id, provider, task_id) DO UPDATE SET vm = coalesce(excluded.vm, vm), status = excluded.status,
        exit_status = excluded.exit_status, updated_at = excluded.updated_at`),
    containerExists: p(`SELECT 1 FROM containers WHERE run_id = ? AND name = ?`).pluck(),
    container: p(`INSERT INTO containers (run_id, container_id, name, image, status, ports, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(run_id, name) DO UPDATE SET container_id = coalesce(excluded.container_id, container_id), image = excluded.image,
        status = excluded.status, ports = excluded.ports, updated_at = excluded.updated_at`),
    runLog: p(`INSERT INTO run_logs (run_id, level, message, at) VALUES (?, ?, ?, ?)`),
  };
}
