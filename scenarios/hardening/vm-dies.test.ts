// A VM that dies mid-run (its qemu SIGKILLed while a long step runs) must fail the step with "VM exited" and the
// console tail, exit 3 (infrastructure), and finish long before the step's own timeout: no hang. Real qemu (TCG).
import { afterAll, beforeAll, expect, test } from 'vitest';
import Database from 'better-sqlite3';
import { pidAlive } from '../../harness/lock.js';
import { killLeftovers, makeSandbox, qemuPid, runRows, startBeacon, startRun, vmsContents, writeScenario, type Sandbox } from './helpers.js';

type Beacon = Awaited<ReturnType<typeof startBeacon>>;
let beacon: Beacon;
let sb: Sandbox;

beforeAll(async () => {
  beacon = await startBeacon();
  sb = await makeSandbox('vm-dies');
});
afterAll(async () => {
  await beacon.close();
  await killLeftovers(sb.dir);
});

const STEP_TIMEOUT_MS = 300_000;

test('qemu killed while a step runs: the step fails with "VM exited" and the console tail, exit 3, before its timeout', async () => {
  const file = await writeScenario(
    sb,
    'dies',
    `name: vm-dies\nvms:\n  victim: { memory: 256M, bootTimeout: 300s }\nsteps:\n  - name: sleeps\n    on: victim\n    run: "${beacon.call('vm-dies')}; sleep 600"\n    timeout: ${STEP_TIMEOUT_MS / 1000}s\n  - { name: after, on: victim, run: 'true' }\n`,
  );
  const run = startRun(sb, file, ['--json']);
  await beacon.waitHit('vm-dies', 300_000, run);
  const qpid = (await qemuPid(sb.vmsDir, 'victim'))!;
  process.kill(qpid, 'SIGKILL');
  const r = await run.proc;
  const out = run.output();
  expect(r.exitCode, out).toBe(3);
  expect(out).toMatch(/VM exited: victim/);
  // The console tail, from the serial log: only the guest prints these (its kernel, busybox's shell banner, dropbear's
  // log lines, the tiny init). Which of them are in the last 30 lines depends on how many SSH probes dropbear logged.
  expect(out).toMatch(/--- last \d+ console lines ---\n[\s\S]*(Linux version|BusyBox v|dropbear|Child connection from 10\.0\.2\.2|harness-tiny:)/);
  const report = JSON.parse(r.stdout) as { steps: Array<{ name: string; status: string; durationMs: number }> };
  expect(report.steps.map((s) => [s.name, s.status])).toEqual([
    ['sleeps', 'failed'],
    ['after', 'skipped'],
  ]);
  // Finished because the VM died, not because the step timed out.
  expect(report.steps[0]!.durationMs).toBeLessThan(STEP_TIMEOUT_MS);
  const h = new Database(sb.db, { readonly: true });
  const step = h.prepare(`SELECT status, duration_ms FROM steps WHERE name = 'sleeps'`).get() as { status: string; duration_ms: number };
  h.close();
  expect(step.status).toBe('failed');
  expect(runRows(sb.db).map((row) => [row.status, row.exit_code])).toEqual([['failed', 3]]);
  expect(pidAlive(qpid)).toBe(false);
  expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
}, 400_000);
