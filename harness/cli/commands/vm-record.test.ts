// What happens to a VM after its run reaches that run's record, through the real CLI (node bin/harness.js) and no
// VM boot: crafted state dirs (vm.json naming the run) and a stand-in "qemu" (a process whose command line names the
// VM dir, which is what the pidfile rule checks). `vm stop` / `vm ssh` / `vm clean` are UserActions with the
// transitions they cause; the crash reaper's removal of an orphan is a Warning SystemEvent; a VM from an older
// harness (no run id) still works and only says so with --verbose.
import { execa, type ResultPromise } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EventBus, type EmittedEvent } from '../../events.js';
import { vmFiles } from '../../paths.js';
import { openDatabase } from '../../store/db.js';
import { SqliteRecorder } from '../../../reporters/sqlite-recorder.js';
import type { VmRecord } from '../../vm-record.js';

const RUN = 'run-vm-record-1';
let root: string;
let vms: string;
let db: string;
/** vm_events of the crafted run itself end here: the tests look at what came after. */
let baseline = 0;
const procs: ResultPromise[] = [];

/** Runs the real CLI; `pid` is its process, the one the record names. */
async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  const p = execa('node', ['bin/harness.js', ...args], {
    reject: false,
    env: { HARNESS_VMS_DIR: vms, HARNESS_DB: db, HARNESS_PORTS_DIR: join(root, 'ports'), HARNESS_DEBUG: '', NO_COLOR: '1', ...extraEnv },
    timeout: 120_000,
  });
  return { ...(await p), pid: p.pid! };
}

const deadPid = (): number => Number(spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim());

async function craftVm(name: string, over: Partial<VmRecord>, live: boolean): Promise<void> {
  const f = vmFiles(vms, name);
  await mkdir(f.dir, { recursive: true });
  await writeFile(f.disk, 'disk');
  const rec: VmRecord = {
    name, provider: 'qemu', config: {} as VmRecord['config'], accel: 'tcg', sshPort: 1, forwards: {}, user: 'root',
    hostPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK6v7p9S0s3gq3wV0JqYJcY3cXQ3QmB7mWv2d1xk1ZyT',
    privateKeyPath: join(root, 'no-such-key'), image: { path: '/nonexistent', builder: 'test', cacheKey: 'k', kind: 'disk' },
    runId: RUN, teardown: 'destroy', ownerPid: deadPid(), createdAt: new Date().toISOString(), ...over,
  };
  await writeFile(f.spec, JSON.stringify(rec));
  if (live) {
    const p = execa('node', ['-e', 'setTimeout(() => {}, 120000)', `${f.dir}/stand-in-qemu`], { reject: false });
    procs.push(p);
    await writeFile(f.pid, `${p.pid}\n`);
  }
}

/** The run as `harness run` records it: both VMs created and running, `kept` kept by policy, then finished. */
async function craftRun(): Promise<void> {
  const rec = await SqliteRecorder.open(db);
  const bus = new EventBus(RUN, false);
  bus.subscribe(rec);
  const t = Date.now() - 60_000;
  const ev = (e: EmittedEvent, dt: number) => bus.emit({ ...e, at: t + dt } as EmittedEvent);
  ev({ type: 'run.started', scenario: 'vm-record', file: 'vm-record.yaml', host: 'h', options: {} }, 0);
  for (const vm of ['kept', 'orphan']) {
    ev({ type: 'vm.created', vm, provider: 'qemu', arch: 'x86_64', cpus: 1, memoryMiB: 256, dir: vmFiles(vms, vm).dir }, 1);
    ev({ type: 'vm.status', vm, from: 'Stopped', to: 'Starting' }, 2);
    ev({ type: 'vm.status', vm, from: 'Starting', to: 'Running' }, 3);
  }
  ev({ type: 'teardown.finished', vm: 'kept', policy: 'keep', action: 'kept' }, 4);
  ev({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 5 }, 5);
  await bus.close();
}

interface EventRow { vm: string; type: string; severity: string; message: string; details: string | null }

async function rows() {
  const d = await openDatabase(db, { readonly: true });
  try {
    return {
      events: d.prepare(`SELECT vm, type, severity, message, details FROM vm_events WHERE run_id = ? AND id > ? ORDER BY id`).all(RUN, baseline) as EventRow[],
      vms: d.prepare(`SELECT name, status, last_started_at, last_stopped_at FROM vms WHERE run_id = ? ORDER BY name`).all(RUN) as Array<Record<string, unknown>>,
      snapshots: d.prepare(`SELECT resource_id, change_type, data FROM state_snapshots WHERE run_id = ? ORDER BY id`).all(RUN) as Array<{ resource_id: string; change_type: string; data: string }>,
      runs: d.prepare(`SELECT id, status FROM runs`).all() as Array<{ id: string; status: string }>,
    };
  } finally {
    d.close();
  }
}

const of = (events: EventRow[], vm: string) => events.filter((e) => e.vm === vm).map((e) => `${e.type}/${e.severity}: ${e.message}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'harness-vm-record-'));
  vms = join(root, 'vms');
  db = join(root, 'record', 'h.db');
  await mkdir(vms, { recursive: true });
  await craftRun();
  const d = await openDatabase(db, { readonly: true });
  baseline = d.prepare('SELECT max(id) FROM vm_events').pluck().get() as number;
  d.close();
  await craftVm('kept', { kept: true, teardown: 'keep' }, true);
  await craftVm('orphan', {}, false);
  // Kept, so the reaper (which runs before every command) leaves them to the commands under test.
  await craftVm('old', { runId: undefined, kept: true }, false);
}, 60_000);

afterAll(async () => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

describe('harness vm stop|ssh|clean and the reaper, in the run record', () => {
  test('vm stop on a live VM: UserAction, Starting -> Stopping -> Stopped, last_stopped; the orphan reaped as a Warning', async () => {
    const before = Date.now();
    const r = await cli(['vm', 'stop', 'kept']);
    expect(r.stderr).toContain('reaped VM orphan left by dead harness pid');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('stopped kept');
    const { events, vms: vmRows, snapshots } = await rows();

    const uid = process.getuid!();
    // The stand-in has no ports file: the pidfile rule calls it Starting.
    expect(of(events, 'kept')).toEqual([
      `UserAction/Info: harness vm stop by uid ${uid} (pid ${r.pid})`,
      `StatusChanged/Info: Starting -> Stopping: harness vm stop by uid ${uid} (pid ${r.pid})`,
      `StatusChanged/Info: Stopping -> Stopped: harness vm stop by uid ${uid} (pid ${r.pid})`,
    ]);
    const action = JSON.parse(events.find((e) => e.vm === 'kept' && e.type === 'UserAction')!.details!) as Record<string, unknown>;
    expect(action).toMatchObject({ command: 'harness vm stop', options: {}, uid, pid: r.pid });
    const kept = vmRows.find((v) => v.name === 'kept')!;
    expect(kept.status).toBe('Stopped');
    expect(kept.last_stopped_at as number).toBeGreaterThanOrEqual(before);

    // The reaper ran first (before the command): the orphan, whose harness died, is gone and on record.
    expect(existsSync(vmFiles(vms, 'orphan').dir)).toBe(false);
    const orphan = of(events, 'orphan');
    expect(orphan[0]).toMatch(/^SystemEvent\/Warning: orphan reaped by uid \d+ \(pid \d+\): the harness that started it \(pid \d+\) is dead$/);
    expect(orphan.slice(1)).toEqual([
      expect.stringMatching(/^StatusChanged\/Info: Stopped -> NotCreated: reaped by uid/),
      expect.stringMatching(/^SystemEvent\/Info: teardown \(destroy\): destroyed - reaped by uid/),
    ]);
    expect(vmRows.find((v) => v.name === 'orphan')!.status).toBe('NotCreated');
    expect(snapshots.filter((s) => s.resource_id === 'orphan').map((s) => s.change_type)).toEqual(['created', 'updated', 'updated', 'updated', 'deleted']);
    expect(snapshots.filter((s) => s.resource_id === 'kept').map((s) => s.change_type)).toEqual(['created', 'updated', 'updated', 'updated', 'updated']);
  }, 60_000);

  test('vm ssh and vm clean: UserActions, Stopped -> NotCreated and a deleted snapshot; runs show lists them', async () => {
    // Nothing listens on port 1: the system ssh client fails at once, after the action is on record.
    const s = await cli(['vm', 'ssh', 'kept']);
    expect(s.exitCode).not.toBe(0);
    const c = await cli(['vm', 'clean', 'kept']);
    expect(c.exitCode, c.stderr).toBe(0);
    const { events, vms: vmRows, snapshots } = await rows();
    const uid = process.getuid!();
    expect(of(events, 'kept').slice(3)).toEqual([
      `UserAction/Info: harness vm ssh by uid ${uid} (pid ${s.pid})`,
      `UserAction/Info: harness vm clean by uid ${uid} (pid ${c.pid})`,
      `StatusChanged/Info: Stopped -> NotCreated: harness vm clean by uid ${uid} (pid ${c.pid})`,
      `SystemEvent/Info: teardown (destroy): destroyed - harness vm clean by uid ${uid} (pid ${c.pid})`,
    ]);
    expect(JSON.parse(events.find((e) => e.message.startsWith('harness vm ssh'))!.details!)).toMatchObject({ command: 'harness vm ssh', options: { command: null, interactive: true } });
    expect(JSON.parse(events.find((e) => e.message.startsWith('harness vm clean'))!.details!)).toMatchObject({ command: 'harness vm clean', options: { preserveDisk: false } });
    expect(vmRows.find((v) => v.name === 'kept')!.status).toBe('NotCreated');
    expect(snapshots.filter((x) => x.resource_id === 'kept').at(-1)!.change_type).toBe('deleted');

    // --preserve-disk: a stopped VM keeps its status; the teardown it amounts to says the disk stays.
    await craftVm('pd', { kept: true }, false);
    const pd = await cli(['vm', 'clean', 'pd', '--preserve-disk']);
    expect(pd.exitCode, pd.stderr).toBe(0);
    expect(existsSync(vmFiles(vms, 'pd').disk)).toBe(true);
    expect(of((await rows()).events, 'pd')).toEqual([
      `UserAction/Info: harness vm clean by uid ${uid} (pid ${pd.pid})`,
      `SystemEvent/Info: teardown (preserve-disk): disk-preserved - harness vm clean by uid ${uid} (pid ${pd.pid})`,
    ]);

    const show = await cli(['runs', 'show', RUN]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/kept\s+Info\s+UserAction: harness vm stop by uid/);
    expect(show.stdout).toMatch(/kept\s+Info\s+UserAction: harness vm clean by uid/);
    expect(show.stdout).toMatch(/orphan\s+Warning\s+SystemEvent: orphan reaped by uid/);
  }, 60_000);

  test('a VM without a run id (older harness) is cleaned; nothing is recorded, said only with --verbose; no run is invented', async () => {
    await craftVm('old2', { runId: undefined, kept: true }, false);
    const quiet = await cli(['vm', 'clean', 'old']);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const loud = await cli(['vm', 'clean', 'old2', '--verbose']);
    expect(loud.exitCode, loud.stderr).toBe(0);
    expect(loud.stderr).toContain('harness vm clean: nothing recorded: VM old2 has no run id');
    // A run id the database does not know: still works, and no placeholder run appears.
    await craftVm('stranger', { runId: 'not-in-db', kept: true }, false);
    const stranger = await cli(['vm', 'clean', 'stranger'], { HARNESS_DEBUG: '1' });
    expect(stranger.exitCode, stranger.stderr).toBe(0);
    expect(stranger.stderr).toContain('nothing recorded: run not-in-db of VM stranger is not in');
    // No database at all: not created as a side effect.
    await craftVm('nodb', { kept: true }, false);
    const nodb = await cli(['vm', 'clean', 'nodb', '-v'], { HARNESS_DB: join(root, 'absent.db') });
    expect(nodb.exitCode, nodb.stderr).toBe(0);
    expect(nodb.stderr).toContain('nothing recorded: no run database at');
    expect(existsSync(join(root, 'absent.db'))).toBe(false);
    for (const n of ['old', 'old2', 'stranger', 'nodb']) expect(existsSync(vmFiles(vms, n).dir)).toBe(false);
    expect((await rows()).runs).toEqual([{ id: RUN, status: 'passed' }]);
  }, 60_000);
});
