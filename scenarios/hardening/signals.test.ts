// SIGINT / SIGTERM delivered to a real `harness run` while a step runs: teardown follows the policy (destroy leaves
// nothing, keep leaves the VM running), the exit code is 130 / 143 and the record says aborted. A second SIGINT
// during a slow teardown forces immediate cleanup. Real qemu (TCG), real CLI, real signals.
import { describe, expect, test } from 'vitest';
import { pidAlive } from '../../harness/lock.js';
import { cli, pidsMentioning, qemuPid, runRows, startRun, vmsContents, writeScenario, useFaultSuite, type Sandbox } from './helpers.js';

const { beacon, sandbox } = useFaultSuite();

/** A one-VM scenario whose only step calls the beacon and then sleeps far longer than any test waits. */
async function sleeper(prefix: string): Promise<{ sb: Sandbox; file: string }> {
  const sb = await sandbox(prefix);
  const file = await writeScenario(
    sb,
    prefix,
    `name: ${prefix}\nvms:\n  vm1: { memory: 256M, bootTimeout: 300s }\nsteps:\n  - name: sleeps\n    on: vm1\n    run: "${beacon.call(prefix)}; sleep 600"\n    timeout: 900s\n`,
  );
  return { sb, file };
}

describe('signals during a run (qemu)', () => {
  test('SIGINT mid-step with teardown destroy: nothing left, exit 130, run aborted', async () => {
    const { sb, file } = await sleeper('sigint');
    const run = startRun(sb, file);
    await beacon.waitHit('sigint', 300_000, run);
    const qpid = (await qemuPid(sb.vmsDir, 'vm1'))!;
    process.kill(run.pid, 'SIGINT');
    const r = await run.proc;
    expect(r.exitCode, run.output()).toBe(130);
    expect(run.output()).toMatch(/SIGINT: tearing down by policy \(destroy\)/);
    expect(pidAlive(qpid)).toBe(false);
    expect(await pidsMentioning(sb.vmsDir)).toEqual([]);
    expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
    expect(runRows(sb.db).map((row) => [row.status, row.exit_code])).toEqual([['aborted', 130]]);
  }, 400_000);

  test('SIGTERM mid-step with --keep: the VM stays up and usable, exit 143, run aborted; the next command spares it', async () => {
    const { sb, file } = await sleeper('sigterm');
    const run = startRun(sb, file, ['--keep']);
    await beacon.waitHit('sigterm', 300_000, run);
    const qpid = (await qemuPid(sb.vmsDir, 'vm1'))!;
    process.kill(run.pid, 'SIGTERM');
    const r = await run.proc;
    try {
      expect(r.exitCode, run.output()).toBe(143);
      expect(runRows(sb.db).map((row) => [row.status, row.exit_code])).toEqual([['aborted', 143]]);
      // Kept on purpose: the crash reaper of the next command must leave it alone, and it still answers.
      const ssh = await cli(sb, ['vm', 'ssh', 'vm1', '--', 'echo', 'still-here']);
      expect(ssh.stdout.trim(), ssh.all).toBe('still-here');
      expect(pidAlive(qpid)).toBe(true);
      expect((await vmsContents(sb.vmsDir)).dirs).toEqual(['vm1']);
    } finally {
      const clean = await cli(sb, ['vm', 'clean', 'vm1']);
      expect(clean.exitCode, clean.all).toBe(0);
    }
    expect(pidAlive(qpid)).toBe(false);
  }, 400_000);

  test('a second SIGINT while teardown hangs kills the machines at once and exits 130', async () => {
    const { sb, file } = await sleeper('sigint2');
    const run = startRun(sb, file);
    await beacon.waitHit('sigint2', 300_000, run);
    const qpid = (await qemuPid(sb.vmsDir, 'vm1'))!;
    // A hung guest: graceful teardown now needs the SSH close grace (2 s), the QMP timeout (2 s), then SIGTERM and
    // SIGKILL 3 s apart, at least 10 s in all, before it can exit.
    process.kill(qpid, 'SIGSTOP');
    try {
      process.kill(run.pid, 'SIGINT');
      await run.waitForOutput(/tearing down by policy/, 30_000);
      const second = Date.now();
      process.kill(run.pid, 'SIGINT');
      const r = await run.proc;
      const exitedAfterMs = Date.now() - second;
      expect(r.exitCode, run.output()).toBe(130);
      expect(run.output()).toMatch(/SIGINT again: killing the machines now/);
      expect(pidAlive(qpid)).toBe(false);
      expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
      // Not a benchmark: only that it did not sit through the graceful path, which cannot take under 10 s here.
      expect(exitedAfterMs).toBeLessThan(7_000);
      expect(runRows(sb.db).map((row) => row.status)).toEqual(['aborted']);
    } finally {
      try {
        process.kill(qpid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
  }, 400_000);
});
