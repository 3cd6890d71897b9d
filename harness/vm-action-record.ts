// What happens to a VM after its run (a user's `harness vm stop|clean|ssh`, the crash reaper removing an orphan)
// goes into the record of the run that created it: the run id is in vm.json. The events go through the same
// recorder and EventWriter as a run's own, appended to the existing run (never a placeholder run). Nothing here
// ever fails the command: a VM from an older harness (no run id), no database, or a run not in it only says so
// through `note` (callers show it in verbose/debug mode); a database error is a warning. The record is opened
// through `RunRecordAt.open`, which the CLI wires to the SQLite recorder: the core never names a reporter.
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { EventBus, type EmittedEvent, type Subscriber, type TeardownPolicy, type VmStatus } from './events.js';
import type { VmRecord } from './vm-record.js';

/** A run record opened to append to runs already in it: it never adds a run (reporters/sqlite-recorder.ts). */
export interface RunRecordAppender extends Subscriber {
  /** Whether the record holds run `runId` (may throw when the record cannot be read). */
  hasRun(runId: string): boolean;
  close(): Promise<void>;
}

/** Opens the record at `dbPath` for appending; rejects when it cannot be opened. */
export type OpenRunRecord = (dbPath: string) => Promise<RunRecordAppender>;

/** Where VM actions are recorded: the run database and how to open it. */
export interface RunRecordAt {
  dbPath: string;
  open: OpenRunRecord;
}

export interface VmActionRecord {
  /** Whether events reach a run record (false: they are dropped). */
  readonly recording: boolean;
  emit(e: EmittedEvent): void;
  close(): Promise<void>;
}

export interface OpenVmActionOptions {
  /** Why nothing is recorded (older VM, no database, unknown run): for verbose/debug output only. */
  note: (msg: string) => void;
  /** A database that exists but cannot be written: always shown. */
  warn: (msg: string) => void;
}

const NOTHING: VmActionRecord = { recording: false, emit: () => undefined, close: async () => undefined };

/** Opens the record of the run that created `rec`'s VM, or a no-op when there is none to append to. */
export async function openVmActionRecord(at: RunRecordAt, name: string, rec: VmRecord | undefined, opts: OpenVmActionOptions): Promise<VmActionRecord> {
  const { dbPath } = at;
  const runId = rec?.runId;
  if (!runId) {
    opts.note(`nothing recorded: VM ${name} has no run id in its vm.json (made by an older harness, or no vm.json)`);
    return NOTHING;
  }
  // A command must not create a database as a side effect.
  if (!(await access(dbPath).then(() => true, () => false))) {
    opts.note(`nothing recorded: no run database at ${dbPath}`);
    return NOTHING;
  }
  let recorder: RunRecordAppender;
  try {
    recorder = await at.open(dbPath);
  } catch (e) {
    opts.warn(`could not open the run record ${dbPath}, nothing recorded: ${(e as Error).message}`);
    return NOTHING;
  }
  let known: boolean;
  try {
    known = recorder.hasRun(runId);
  } catch (e) {
    await recorder.close();
    opts.warn(`could not read the run record ${dbPath}, nothing recorded: ${(e as Error).message}`);
    return NOTHING;
  }
  if (!known) {
    await recorder.close();
    opts.note(`nothing recorded: run ${runId} of VM ${name} is not in ${dbPath}`);
    return NOTHING;
  }
  const bus = new EventBus(runId, false);
  bus.subscribe(recorder);
  return {
    recording: true,
    emit: (e) => void bus.emit(e),
    close: () => bus.close(),
  };
}

/** Who acted: "by uid 0 (pid 123)". */
export function actor(): string {
  return `by uid ${process.getuid?.() ?? 'unknown'} (pid ${process.pid})`;
}

/** The UserAction event of a `harness vm ...` command. */
export function userAction(vm: string, command: string, options: Record<string, unknown>): EmittedEvent {
  return {
    type: 'vm.event', vm, kind: 'UserAction', severity: 'Info',
    message: `harness ${command} ${actor()}`,
    details: { command: `harness ${command}`, options, uid: process.getuid?.() ?? null, pid: process.pid, host: hostname() },
  };
}

const LIVE: ReadonlySet<VmStatus> = new Set(['Starting', 'Running', 'Stopping', 'Suspending', 'Suspended', 'Resuming']);

export type VmAction = 'stop' | 'clean' | 'clean-preserve-disk';

/**
 * The status transitions a stop or clean causes from `from`, and for a clean the teardown it amounts to (so the
 * record gets the same 'deleted' state snapshot a run's own destroy teardown leaves).
 */
export function actionEvents(vm: string, from: VmStatus, action: VmAction, why: string, startedAt?: number): EmittedEvent[] {
  const out: EmittedEvent[] = [];
  let cur = from;
  if (LIVE.has(cur)) {
    out.push({ type: 'vm.status', vm, from: cur, to: 'Stopping', message: why, ...(startedAt === undefined ? {} : { at: startedAt }) });
    out.push({ type: 'vm.status', vm, from: 'Stopping', to: 'Stopped', message: why });
    cur = 'Stopped';
  }
  const final: VmStatus = action === 'clean' ? 'NotCreated' : 'Stopped';
  if (cur !== final && cur !== 'NotCreated') out.push({ type: 'vm.status', vm, from: cur, to: final, message: why });
  if (action !== 'stop') {
    const policy: TeardownPolicy = action === 'clean' ? 'destroy' : 'preserve-disk';
    out.push({ type: 'teardown.finished', vm, policy, action: action === 'clean' ? 'destroyed' : 'disk-preserved', hint: why });
  }
  return out;
}

/** The VM's status before an action, only when it will be recorded (asking a provider costs a virsh/pidfile look). */
export async function statusBefore(record: VmActionRecord, status: () => Promise<VmStatus>): Promise<VmStatus> {
  return record.recording ? status().catch((): VmStatus => 'Unknown') : 'Unknown';
}

/**
 * Runs `act` (the stop or clean itself) and records its outcome: the transitions from `from` when it worked, an
 * ErrorOccurred naming `what` when it failed (then rethrown). Shared by `harness vm stop|clean` and the reaper.
 */
export async function performRecorded(record: VmActionRecord, vm: string, from: VmStatus, action: VmAction, what: string, why: string, act: () => Promise<void>): Promise<void> {
  const startedAt = Date.now();
  try {
    await act();
  } catch (e) {
    record.emit({ type: 'vm.event', vm, kind: 'ErrorOccurred', severity: 'Error', message: `${what} failed: ${(e as Error).message}` });
    throw e;
  }
  for (const e of actionEvents(vm, from, action, why, startedAt)) record.emit(e);
}

/** HARNESS_DEBUG=1 (any value but empty or 0): say why a VM action was not recorded. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.HARNESS_DEBUG) && env.HARNESS_DEBUG !== '0';
}

/**
 * The crash reaper's removal of an orphan (a VM whose harness died), recorded against the run that made it: a
 * Warning SystemEvent, the transitions, the teardown. `clean` does the removal; its error is recorded and rethrown.
 */
export async function reapRecorded(
  at: RunRecordAt,
  name: string,
  rec: VmRecord,
  status: () => Promise<VmStatus>,
  clean: () => Promise<void>,
  log: (msg: string) => void,
): Promise<void> {
  const record = await openVmActionRecord(at, name, rec, { note: (m) => debugEnabled() && log(`reaper: ${m}`), warn: log });
  try {
    const from = await statusBefore(record, status);
    const why = `reaped ${actor()}: the harness that started it (pid ${rec.ownerPid}) is dead`;
    record.emit({
      type: 'vm.event', vm: name, kind: 'SystemEvent', severity: 'Warning', message: `orphan ${why}`,
      details: { reason: 'orphan', ownerPid: rec.ownerPid, teardown: rec.teardown ?? null, status: from, pid: process.pid, uid: process.getuid?.() ?? null, host: hostname() },
    });
    await performRecorded(record, name, from, rec.teardown === 'preserve-disk' ? 'clean-preserve-disk' : 'clean', 'reaping', why, clean);
  } finally {
    await record.close();
  }
}
