// One provider conformance suite, shared by every machine kind: the same lifecycle (status transitions, start,
// readiness, exec, lock exclusion, stop, preserve-disk clean and reuse, full clean, a boot that never gets ready)
// is checked for real against each backend that can run here. Kinds differ only in hooks (subject.ts): qemu and
// libvirt through vmSubject (SSH readiness, disk.qcow2), containers through containerSubject (exec readiness, a
// /data volume). A new VM provider plugs in with describeProviderConformance(label, () => new XProvider(...)).
// Boots are few (each TCG boot costs ~20 s): one boot, one reboot from the preserved disk, one abandoned boot.
import { execa } from 'execa';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeReal } from '../../fixtures/real-backend.js';
import { HarnessError } from '../../harness/errors.js';
import type { EmittedEvent, VmStatus } from '../../harness/events.js';
import { acquireLock, type Release } from '../../harness/lock.js';
import { vmFiles } from '../../harness/paths.js';
import type { Provider } from '../../harness/providers/provider.js';
import type { Target } from '../../harness/targets/target.js';
import type { ConformanceSubject, SubjectContext, SubjectMachine } from './subject.js';
import { vmSubject } from './vm-subject.js';

export interface ConformanceOptions {
  /**
   * Why the backend cannot run here (its probe's reason), or undefined. Set: the block is skipped with the reason in
   * its title, and under CI=true it fails with it instead (fixtures/real-backend.ts).
   */
  unavailable: string | undefined;
  /**
   * A known, documented deviation: extra statuses a backend reports while stopping (e.g. qemu's pidfile rule says
   * Starting once sshd is gone but the process lives). Each entry needs its reason; remove it when fixed.
   */
  tolerateDuringStop?: { statuses: VmStatus[]; why: string };
  /** What one start may cost beyond the boot (libvirt's slow /dev/kvm state): added to the timeout of each test that starts. */
  startOverheadMs?: number;
}

const TRY_LOCK = fileURLToPath(new URL('./try-lock.ts', import.meta.url));
const BOOT_MS = 180_000;

/** The conformance suite for a VM Provider (qemu, libvirt, ...). */
export function describeProviderConformance(label: string, makeProvider: () => Provider | Promise<Provider>, opts: ConformanceOptions): void {
  describeConformance(label, async (ctx) => vmSubject(await makeProvider(), ctx), opts);
}

/** Registers `describe(label)` with the conformance checks, run in order against a fresh subject and vms dir. */
export function describeConformance<M extends SubjectMachine>(
  label: string,
  makeSubject: (ctx: SubjectContext) => Promise<ConformanceSubject<M>>,
  opts: ConformanceOptions,
): void {
  const startMs = opts.startOverheadMs ?? 0;
  describeReal(`${label} provider conformance`, opts.unavailable, () => {
    const NAME = 'conf';
    const SLOW = 'conf-timeout';
    const events: EmittedEvent[] = [];
    const emit = (e: EmittedEvent) => void events.push(e);
    let subject: ConformanceSubject<M> | undefined;
    let s: ConformanceSubject<M>;
    let vmsDir: string;
    let release: Release | undefined;
    let machine: M | undefined;
    let target: Target | undefined;

    const files = () => vmFiles(vmsDir, NAME);

    beforeAll(async () => {
      vmsDir = await mkdtemp(join(tmpdir(), `harness-conformance-${label}-`));
      subject = await makeSubject({ vmsDir, emit });
      s = subject;
      release = await acquireLock(files().lock, `VM ${NAME}`);
    });

    // Always clean, even after a failed check: no VM, container, volume, lock or temp dir may outlive the suite.
    afterAll(async () => {
      await target?.close().catch(() => undefined);
      for (const name of [NAME, SLOW]) await subject?.clean(name).catch((e: unknown) => console.error(`clean ${name}: ${(e as Error).message}`));
      await subject?.dispose?.().catch(() => undefined);
      await release?.().catch(() => undefined);
      if (vmsDir) await rm(vmsDir, { recursive: true, force: true });
    });

    test('status is NotCreated before start', async () => {
      expect(await s.status(NAME)).toBe('NotCreated');
    });

    test('start returns with the machine up: Starting or Running, never out of order on the way', async () => {
      const seen = await watchStatuses(() => s.status(NAME), async () => void (machine = await s.start(NAME)));
      expect(await machine!.isAlive()).toBe(true);
      expect(['Starting', 'Running']).toContain(await s.status(NAME));
      // Stopped may show while the state dir exists but the process isn't up yet (the pidfile rule); never after Starting.
      expectOrdered(seen, ['NotCreated', 'Stopped', 'Starting', 'Running']);
    }, BOOT_MS + startMs);

    test('readiness succeeds and status becomes Running', async () => {
      target = await s.ready(machine!);
      expect(await s.status(NAME)).toBe('Running');
    }, BOOT_MS);

    test('exec through the target runs in the machine and reports its exit code', async () => {
      const r = await target!.exec('uname -s');
      expect(r.exitCode).toBe(0);
      expect(r.stdout.trim()).toBe('Linux');
      expect((await target!.exec('exit 3')).exitCode).toBe(3);
    });

    test('a second process cannot take the machine lock while we hold it, and is told our pid', async () => {
      const r = await execa('node', ['--import', 'tsx', TRY_LOCK, files().lock], { reject: false, timeout: 60_000 });
      const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { outcome?: string; name?: string; holderPid?: number; message?: string };
      expect(out, r.stderr).toMatchObject({ outcome: 'busy', name: 'LockBusy', holderPid: process.pid });
      expect(out.message).toContain(`pid ${process.pid}`);
    });

    const tol = opts.tolerateDuringStop;
    const stopNote = tol ? ` (tolerating ${tol.statuses.join(', ')}: ${tol.why})` : '';
    test(`stop leaves the machine Stopped, passing only through Running, Stopping, Stopped${stopNote}`, async () => {
      await s.disk.beforeStop(NAME, target!);
      await target?.close();
      target = undefined;
      const seen = await watchStatuses(() => s.status(NAME), () => s.stop(NAME));
      expect(await machine!.isAlive()).toBe(false);
      expect(await s.status(NAME)).toBe('Stopped');
      if (s.stoppedGracefully) expect(await s.stoppedGracefully(NAME), 'the guest shut down by itself, not killed').toBe(true);
      const tolerated = new Set(tol?.statuses ?? []);
      expectOrdered(
        seen.filter((st) => !tolerated.has(st)),
        ['Running', 'Stopping', 'Stopped'],
      );
    }, 120_000);

    test('clean with preserveDisk leaves only the disk in the state dir', async () => {
      await s.clean(NAME, { preserveDisk: true });
      expect((await readdir(files().dir)).sort()).toEqual(s.disk.preservedFiles);
      await s.disk.afterPreserve(NAME);
    }, 120_000);

    test('start again reuses the preserved disk and is ready again', async () => {
      machine = await s.start(NAME);
      target = await s.ready(machine);
      await s.disk.afterRestart(NAME, target);
      expect(await s.status(NAME)).toBe('Running');
    }, BOOT_MS + startMs);

    test('clean removes everything: NotCreated, no state dir, nothing left running', async () => {
      await target?.close();
      target = undefined;
      await s.clean(NAME);
      expect(await s.status(NAME)).toBe('NotCreated');
      await expect(stat(files().dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await machine!.isAlive()).toBe(false);
      expect(await s.leftovers(NAME, machine)).toEqual([]);
    }, 120_000);

    test('a boot that is never ready fails with a typed timeout error, and clean leaves nothing', async () => {
      const { error, machine: m } = await s.neverReady(SLOW);
      expect(error).toBeInstanceOf(HarnessError);
      expect((error as Error).message).toContain(SLOW);
      await s.clean(SLOW);
      expect(await s.status(SLOW)).toBe('NotCreated');
      await expect(stat(vmFiles(vmsDir, SLOW).dir)).rejects.toMatchObject({ code: 'ENOENT' });
      if (m) expect(await m.isAlive()).toBe(false);
      expect(await s.leftovers(SLOW, m)).toEqual([]);
    }, 120_000 + startMs);
  });
}

/** Polls `status` (about every 100 ms, never overlapping) while `action` runs; returns the statuses seen, deduplicated in order. */
async function watchStatuses(status: () => Promise<VmStatus>, action: () => Promise<void>): Promise<VmStatus[]> {
  const seen: VmStatus[] = [];
  const note = (st: VmStatus) => {
    if (seen[seen.length - 1] !== st) seen.push(st);
  };
  let done = false;
  const poller = (async () => {
    while (!done) {
      note(await status());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await action();
  } finally {
    done = true;
    await poller;
  }
  note(await status());
  return seen;
}

/** Every status seen is one of `order`, and they never go backwards (a transient one may be missed). */
function expectOrdered(seen: VmStatus[], order: VmStatus[]): void {
  const idx = seen.map((st) => order.indexOf(st));
  expect(idx.every((i) => i >= 0), `statuses seen ${seen.join(' -> ')}, expected only ${order.join(' -> ')}`).toBe(true);
  expect(idx, `statuses seen ${seen.join(' -> ')}, expected in the order ${order.join(' -> ')}`).toEqual([...idx].sort((a, b) => a - b));
}
