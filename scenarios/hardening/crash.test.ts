// The harness SIGKILLed at three points (mid-boot, mid-step, mid-teardown), for real: the next harness command,
// whatever it is, must find what the dead run left (qemu processes, stale locks, state dirs), reap it, and mark the
// run aborted in the record, while nothing outside this project's vms/ is touched. Real qemu (TCG), real CLI.
import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { libvirtUnavailable } from '../../fixtures/backend-probes.js';
import { describeReal } from '../../fixtures/real-backend.js';
import { pidAlive } from '../../harness/lock.js';
import { domainName } from '../../harness/providers/libvirt/naming.js';
import { containersWithLabel, dockerUnavailable } from '../../harness/containers/test-helpers.js';
import { LABEL_DIR, LABEL_HOST, LABEL_OWNER, LABEL_PID, OWNER } from '../../harness/containers/labels.js';
import { ensureBaseImage } from '../../harness/containers/local-image.js';
import {
  cli,
  deadPid,
  hardKill,
  pidsMentioning,
  qemuPid,
  runRows,
  startRun,
  vmsContents,
  waitFor,
  writeScenario,
  useFaultSuite,
  type Sandbox,
} from './helpers.js';

const { beacon, sandbox } = useFaultSuite();

const vm = (name: string) => `  ${name}: { memory: 256M, bootTimeout: 300s }`;

/** After the kill and before the next command: the orphan is really there (else the test proves nothing). */
async function expectOrphaned(sb: Sandbox, name: string): Promise<number> {
  const pid = await qemuPid(sb.vmsDir, name);
  expect(pid, `qemu of ${name} should outlive the killed harness`).toBeDefined();
  expect((await vmsContents(sb.vmsDir)).locks, 'the dead run still holds its lock').toContain(`${name}.lock`);
  expect(runRows(sb.db).map((r) => r.status)).toEqual(['running']);
  return pid!;
}

/** The next command cleaned up everything the dead run left and said so in the record. */
async function expectReaped(sb: Sandbox, out: string): Promise<void> {
  expect(await pidsMentioning(sb.vmsDir), 'no process names the sandbox vms dir any more').toEqual([]);
  expect(await vmsContents(sb.vmsDir)).toEqual({ dirs: [], locks: [] });
  const [row] = runRows(sb.db);
  expect(row?.status).toBe('aborted');
  expect(row?.error).toMatch(/died before the run finished/);
  expect(out).toMatch(/marked 1 interrupted run\(s\) aborted/);
}

describe('harness killed with SIGKILL (qemu)', () => {
  test('mid-boot: qemu started, SSH not yet up; `vm list` reaps qemu, lock and state dir; the run is aborted', async () => {
    const sb = await sandbox('crash-boot');
    const file = await writeScenario(sb, 'boot', `name: crash-boot\nvms:\n${vm('booting')}\nsteps:\n  - { name: never runs, on: booting, run: 'true' }\n`);
    const run = startRun(sb, file);
    await waitFor('the qemu pidfile', 120_000, async () => (await qemuPid(sb.vmsDir, 'booting')) ?? (run.proc.exitCode !== null ? Promise.reject(new Error(run.output())) : undefined));
    expect(run.output()).not.toMatch(/ready: SSH answered/); // really mid-boot
    await hardKill(run);
    const qpid = await expectOrphaned(sb, 'booting');

    const next = await cli(sb, ['vm', 'list', '--json']);
    expect(next.exitCode, next.all).toBe(0);
    expect(next.all).toMatch(/reaped VM booting left by dead harness pid/);
    expect(pidAlive(qpid)).toBe(false);
    await expectReaped(sb, next.all ?? '');
    expect(JSON.parse(next.stdout)).toEqual([]);
  }, 200_000);

  test("mid-step: the next command reaps qemu, lock and dir, marks the run aborted; another user's decoys survive", async () => {
    const sb = await sandbox('crash-step');
    const file = await writeScenario(
      sb,
      'step',
      `name: crash-step\nvms:\n${vm('web')}\nsteps:\n  - name: sleeps\n    on: web\n    run: "${beacon.call('crash-step')}; sleep 600"\n    timeout: 900s\n`,
    );
    const run = startRun(sb, file);
    await beacon.waitHit('crash-step', 300_000, run);
    await hardKill(run);
    const qpid = await expectOrphaned(sb, 'web');

    // Decoys. (1) Another project's vms dir with a VM of the same name, its own dead-owner vm.json and a live
    // qemu-like process naming that dir. (2) In OUR vms dir, a dead run's VM whose pidfile names that same live
    // process (pid reuse): the dir is ours to remove, the process is not ours to kill.
    const otherVms = join(sb.dir, 'other-user', 'vms');
    const otherDir = join(otherVms, 'web');
    await mkdir(otherDir, { recursive: true });
    const decoy = execa('node', ['-e', 'setTimeout(() => {}, 600000)', 'qemu-system-x86_64', '-name', 'web,process=harness-web', '-pidfile', join(otherDir, 'web.pid')], { reject: false });
    const dead = await deadPid();
    const record = (dir: string) => JSON.stringify({ name: 'web', provider: 'qemu', ownerPid: dead, teardown: 'destroy', sshPort: 1, forwards: {}, privateKeyPath: '/nonexistent', dir });
    await writeFile(join(otherDir, 'web.pid'), `${decoy.pid}\n`);
    await writeFile(join(otherDir, 'vm.json'), record(otherDir));
    const ghostDir = join(sb.vmsDir, 'ghost');
    await mkdir(ghostDir);
    await writeFile(join(ghostDir, 'ghost.pid'), `${decoy.pid}\n`);
    await writeFile(join(ghostDir, 'vm.json'), record(ghostDir).replace('"web"', '"ghost"'));

    try {
      const next = await cli(sb, ['vm', 'list']);
      expect(next.exitCode, next.all).toBe(0);
      expect(next.all).toMatch(/reaped VM web left by dead harness pid/);
      expect(pidAlive(qpid)).toBe(false);
      await expectReaped(sb, next.all ?? '');
      expect(pidAlive(decoy.pid!), 'the decoy process of another dir survives').toBe(true);
      expect((await vmsContents(otherVms)).dirs).toEqual(['web']);
      expect(await pidsMentioning(otherDir)).toContain(decoy.pid);
    } finally {
      decoy.kill('SIGKILL');
      await decoy;
    }
  }, 400_000);

  test('mid-teardown: one VM already destroyed, the other hung (SIGSTOPped qemu); the next command reaps the rest', async () => {
    const sb = await sandbox('crash-teardown');
    const file = await writeScenario(
      sb,
      'teardown',
      `name: crash-teardown\nvms:\n${vm('first')}\n${vm('second')}\nsteps:\n  - name: short\n    on: first\n    run: "${beacon.call('crash-teardown')}; sleep 3"\n`,
    );
    const run = startRun(sb, file);
    await beacon.waitHit('crash-teardown', 400_000, run);
    // A hung guest makes `second`'s teardown slow (QMP quit times out, then TERM, then KILL): a real fault that
    // opens a wide, deterministic window in which `first` is gone and `second` is not.
    const hung = (await qemuPid(sb.vmsDir, 'second'))!;
    process.kill(hung, 'SIGSTOP');
    try {
      await waitFor('teardown to remove vms/first', 60_000, async () => !(await vmsContents(sb.vmsDir)).dirs.includes('first') || undefined, 20);
      await hardKill(run);
      expect(run.output()).not.toMatch(/Summary:/); // really killed inside teardown
      const left = await vmsContents(sb.vmsDir);
      expect(left.dirs).toEqual(['second']);
      expect(left.locks).toContain('second.lock');
      expect(pidAlive(hung)).toBe(true);
      expect(runRows(sb.db).map((r) => r.status)).toEqual(['running']);

      const next = await cli(sb, ['vm', 'list']);
      expect(next.exitCode, next.all).toBe(0);
      expect(next.all).toMatch(/reaped VM second/);
      expect(pidAlive(hung)).toBe(false);
      await expectReaped(sb, next.all ?? '');
    } finally {
      try {
        process.kill(hung, 'SIGKILL');
      } catch {
        /* reaped, as it should be */
      }
    }
  }, 500_000);
});

// ---- other backends: the same crash (SIGKILL mid-step), reaped by the next command ----

const LIBVIRT_URI = 'qemu:///system';
const noLibvirt = await libvirtUnavailable(LIBVIRT_URI);
const virsh = (...args: string[]) => execa('virsh', ['-c', LIBVIRT_URI, ...args], { reject: false });

describeReal('harness killed with SIGKILL (libvirt)', noLibvirt, () => {
  test('mid-step: the next command destroys and undefines the domain, removes dir and lock, aborts the run', async () => {
    const sb = await sandbox('crash-libvirt');
    const domain = domainName('lv', sb.vmsDir);
    const file = await writeScenario(
      sb,
      'libvirt',
      `name: crash-libvirt\nvms:\n  lv: { provider: libvirt, libvirt: { uri: "${LIBVIRT_URI}" }, memory: 256M, bootTimeout: 300s }\nsteps:\n  - name: sleeps\n    on: lv\n    run: "${beacon.call('crash-libvirt')}; sleep 600"\n    timeout: 900s\n`,
    );
    const run = startRun(sb, file);
    try {
      await beacon.waitHit('crash-libvirt', 300_000, run);
      await hardKill(run);
      expect((await virsh('domstate', domain)).stdout.trim(), 'the domain outlives the killed harness').toBe('running');
      expect((await vmsContents(sb.vmsDir)).locks).toContain('lv.lock');

      const next = await cli(sb, ['vm', 'list']);
      expect(next.exitCode, next.all).toBe(0);
      expect((await virsh('dominfo', domain)).exitCode, 'the domain is undefined').not.toBe(0);
      await expectReaped(sb, next.all ?? '');
    } finally {
      await virsh('destroy', domain);
      await virsh('undefine', domain, '--snapshots-metadata', '--managed-save');
    }
  }, 400_000);
});

const noDocker = await dockerUnavailable();

describeReal('harness killed with SIGKILL (containers)', noDocker, () => {
  test("mid-step: the next command removes the container, its dir and lock, aborts the run; others' containers survive", async () => {
    const sb = await sandbox('crash-ctr');
    const mark = `crash-ctr-${process.pid}`;
    const file = await writeScenario(
      sb,
      'ctr',
      `name: crash-ctr\ncontainers:\n  box: { image: harness/busybox, command: [sleep, "3600"] }\nsteps:\n  - name: sleeps\n    on: box\n    run: "sleep 600 || echo ${mark}"\n    timeout: 900s\n`,
    );
    // Another host's harness container, with a dead owner pid: not ours to judge, whatever its labels say.
    // The base image may not exist yet on a fresh machine (no other suite need have built it): build it here.
    const base = await ensureBaseImage();
    const foreign = await execa('docker', ['run', '-d', '--label', `${LABEL_OWNER}=${OWNER}`, '--label', `${LABEL_HOST}=some-other-host`, '--label', `${LABEL_PID}=${await deadPid()}`, base.tag, 'sleep', '3600']);
    const foreignId = foreign.stdout.trim();
    const run = startRun(sb, file);
    try {
      // The step's shell runs inside the container but is a process of this host: its command line shows it started.
      await waitFor('the step to run in the container', 180_000, async () => {
        if (run.proc.exitCode !== null) throw new Error(run.output());
        return (await pidsMentioning(mark)).length > 0 || undefined;
      });
      await hardKill(run);
      const ours = await containersWithLabel(`${LABEL_DIR}=${join(sb.vmsDir, 'box')}`);
      expect(ours, 'the container outlives the killed harness').toHaveLength(1);

      const next = await cli(sb, ['vm', 'list']);
      expect(next.exitCode, next.all).toBe(0);
      expect(next.all).toMatch(/reaped container box/);
      expect(await containersWithLabel(`${LABEL_DIR}=${join(sb.vmsDir, 'box')}`)).toEqual([]);
      expect(await pidsMentioning(mark)).toEqual([]);
      await expectReaped(sb, next.all ?? '');
      expect((await execa('docker', ['inspect', '-f', '{{.State.Running}}', foreignId])).stdout.trim()).toBe('true');
    } finally {
      await execa('docker', ['rm', '-f', foreignId], { reject: false });
      for (const id of await containersWithLabel(`${LABEL_DIR}=${join(sb.vmsDir, 'box')}`)) await execa('docker', ['rm', '-f', id], { reject: false });
    }
  }, 300_000);
});
