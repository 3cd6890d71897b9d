// SIGINT / SIGTERM delivered to a real `harness run` while a step runs: teardown follows the policy (destroy leaves
// nothing, keep leaves the VM running), the exit code is 130 / 143 and the record says aborted. A second SIGINT
// during a slow teardown forces immediate cleanup, for every backend: a qemu VM, a libvirt domain (destroyed and
// undefined) and a container (removed). Real qemu (TCG), libvirtd and dockerd, real CLI, real signals.
// "Forced" is proven by the record, not by a stopwatch: only the force path writes teardown.forced, naming the qemu
// pid it found alive and SIGKILLed (the graceful path ends a hung qemu through QMP, SIGTERM, then its own SIGKILL
// seconds later, or libvirt's destroy) or the container it removed with rm -f (the graceful path sits in docker stop),
// and only it finishes the run with "SIGINT twice". How fast that is, is bench/force-teardown's question.
import { execa } from 'execa';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { pidAlive } from '../../harness/lock.js';
import { domainName } from '../../harness/providers/libvirt/naming.js';
import { containersWithLabel, dockerUnavailable } from '../../harness/containers/test-helpers.js';
import { LABEL_DIR } from '../../harness/containers/labels.js';
import { describeReal } from '../../fixtures/real-backend.js';
import { libvirtUnavailable, qemuUnavailable } from '../../fixtures/backend-probes.js';
import { cli, forcedTeardowns, pidsMentioning, qemuPid, runRows, startRun, vmsContents, waitFor, writeScenario, useFaultSuite, type LiveRun, type Sandbox } from './helpers.js';

const { beacon, sandbox } = useFaultSuite();

/** A one-VM scenario whose only step calls the beacon and then sleeps far longer than any test waits. */
async function sleeper(prefix: string, vmExtra = ''): Promise<{ sb: Sandbox; file: string }> {
  const sb = await sandbox(prefix);
  const file = await writeScenario(
    sb,
    prefix,
    `name: ${prefix}\nvms:\n  vm1: { ${vmExtra}memory: 256M, bootTimeout: 300s }\nsteps:\n  - name: sleeps\n    on: vm1\n    run: "${beacon.call(prefix)}; sleep 600"\n    timeout: 900s\n`,
  );
  return { sb, file };
}

/** Written only where the force path ends the run (harness/cli/commands/run.ts). */
const FORCED_RUN_ERROR = 'SIGINT twice: machines killed without graceful teardown';

describeReal('signals during a run (qemu)', await qemuUnavailable(), () => {
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
      const exitCode = await secondSigint(run);
      expect(exitCode, run.output()).toBe(130);
      expect(run.output()).toMatch(/SIGINT again: killing the machines now/);
      expect(run.output()).not.toMatch(/reaps what is left/);
      // The force path found this qemu still alive and SIGKILLed it itself: the graceful path had not ended it.
      expect(forcedTeardowns(sb.db), run.output()).toEqual([{ vm: 'vm1', killedPids: [qpid], killedContainers: [] }]);
      expect(pidAlive(qpid)).toBe(false);
      expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
      expect(runRows(sb.db).map((row) => [row.status, row.exit_code, row.error])).toEqual([['aborted', 130, FORCED_RUN_ERROR]]);
    } finally {
      try {
        process.kill(qpid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
  }, 400_000);
});

/** Sends the second signal and returns the harness's exit code. */
async function secondSigint(run: LiveRun): Promise<number | undefined> {
  process.kill(run.pid, 'SIGINT');
  return (await run.proc).exitCode;
}

const LIBVIRT_URI = 'qemu:///system';
const virsh = (...args: string[]) => execa('virsh', ['-c', LIBVIRT_URI, ...args], { reject: false });

describeReal('signals during a run (libvirt)', await libvirtUnavailable(LIBVIRT_URI), () => {
  test('a second SIGINT while teardown hangs destroys and undefines the domain at once and exits 130', async () => {
    const { sb, file } = await sleeper('sigint2-lv', `provider: libvirt, libvirt: { uri: "${LIBVIRT_URI}" }, `);
    const domain = domainName('vm1', sb.vmsDir);
    const run = startRun(sb, file);
    let qpid: number | undefined;
    try {
      await beacon.waitHit('sigint2-lv', 300_000, run);
      qpid = (await qemuPid(sb.vmsDir, 'vm1'))!;
      expect(qpid, 'the provider writes the domain qemu pid into vms/vm1/vm1.pid').toBeDefined();
      // A hung guest: graceful teardown needs the SSH close grace (2 s), then `virsh destroy`, which gives a
      // SIGSTOPped qemu libvirt's whole SIGTERM grace (10 s) before its SIGKILL.
      process.kill(qpid, 'SIGSTOP');
      process.kill(run.pid, 'SIGINT');
      await run.waitForOutput(/tearing down by policy/, 30_000);
      const exitCode = await secondSigint(run);
      expect(exitCode, run.output()).toBe(130);
      expect(run.output()).toMatch(/SIGINT again: killing the machines now/);
      expect(run.output()).not.toMatch(/reaps what is left/);
      // The force path SIGKILLed the domain's qemu itself, still alive: libvirt's destroy (the graceful path, which
      // SIGKILLs a hung qemu only after its own 10 s grace) had not ended it.
      expect(forcedTeardowns(sb.db), run.output()).toEqual([{ vm: 'vm1', killedPids: [qpid], killedContainers: [] }]);
      expect(pidAlive(qpid)).toBe(false);
      expect((await virsh('dominfo', domain)).exitCode, 'the domain is undefined').not.toBe(0);
      expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
      expect(runRows(sb.db).map((row) => [row.status, row.exit_code, row.error])).toEqual([['aborted', 130, FORCED_RUN_ERROR]]);
    } finally {
      if (qpid) {
        try {
          process.kill(qpid, 'SIGKILL');
        } catch {
          /* gone, as it should be */
        }
      }
      await virsh('destroy', domain);
      await virsh('undefine', domain, '--snapshots-metadata', '--managed-save');
    }
  }, 400_000);
});

describeReal('signals during a run (containers)', await dockerUnavailable(), () => {
  test('a second SIGINT during teardown removes the container at once (no docker stop grace) and exits 130', async () => {
    const sb = await sandbox('sigint2-ctr');
    const mark = `sigint2-ctr-${process.pid}`;
    const file = await writeScenario(
      sb,
      'ctr',
      // `sleep` as PID 1 ignores SIGTERM: the graceful `docker stop` sits through its whole timeout.
      `name: sigint2-ctr\ncontainers:\n  box: { image: harness/busybox, command: [sleep, "3600"] }\nsteps:\n  - name: sleeps\n    on: box\n    run: "sleep 600 || echo ${mark}"\n    timeout: 900s\n`,
    );
    const ours = () => containersWithLabel(`${LABEL_DIR}=${join(sb.vmsDir, 'box')}`);
    const run = startRun(sb, file);
    try {
      await waitFor('the step to run in the container', 180_000, async () => {
        if (run.proc.exitCode !== null) throw new Error(run.output());
        return (await pidsMentioning(mark)).length > 0 || undefined;
      });
      process.kill(run.pid, 'SIGINT');
      await run.waitForOutput(/tearing down by policy/, 30_000);
      // The graceful path has not removed it yet (else this test would prove nothing about the second SIGINT).
      const before = await ours();
      expect(before, 'the container is still there when the second SIGINT comes').toHaveLength(1);
      const exitCode = await secondSigint(run);
      expect(exitCode, run.output()).toBe(130);
      expect(run.output()).toMatch(/SIGINT again: killing the machines now/);
      expect(run.output()).not.toMatch(/reaps what is left/);
      // The force path removed this very container with rm -f: the graceful docker stop had not got rid of it.
      expect(forcedTeardowns(sb.db), run.output()).toEqual([{ vm: 'box', killedPids: [], killedContainers: before }]);
      expect(await ours(), 'the container is removed before the harness exits').toEqual([]);
      expect(await pidsMentioning(mark)).toEqual([]);
      expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
      expect(runRows(sb.db).map((row) => [row.status, row.exit_code, row.error])).toEqual([['aborted', 130, FORCED_RUN_ERROR]]);
    } finally {
      for (const id of await ours()) await execa('docker', ['rm', '-f', id], { reject: false });
    }
  }, 300_000);
});
