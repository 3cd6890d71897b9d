// The KVM boot test in kvm-probe.ts, against stand-in qemu binaries (shell scripts, labelled as such) in a temp dir:
// a guest that hangs silently, one that boots (prints the kernel's first console line), and a qemu that fails.
// /dev/kvm is missing on these machines and their CPUs lack vmx/svm, so the device check points at a temp file and
// ignoreCpuFlags lets the boot test run; everything after that is the probe's real code path.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderUnavailable } from '../errors.js';
import { decideAccel, probeKvm, type AccelProbeOptions } from './kvm-probe.js';

let dir: string;
let kernel: string;
let device: string;

/** Writes an executable stand-in for qemu-system-x86_64; `body` runs after the argument check. */
async function standIn(name: string, label: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    [
      '#!/bin/sh',
      `# STAND-IN for qemu-system-x86_64, written by harness/providers/kvm-probe.test.ts: ${label}.`,
      `echo $$ > '${join(dir, `${name}.pid`)}'`,
      // The probe's command line: KVM, the kernel it was given, the serial console on stdout.
      'case " $* " in *" -accel kvm "*) ;; *) echo "stand-in: no -accel kvm in: $*" >&2; exit 64;; esac',
      `case " $* " in *" -kernel ${kernel} "*) ;; *) echo "stand-in: wrong -kernel in: $*" >&2; exit 64;; esac`,
      'case " $* " in *" -serial stdio "*) ;; *) echo "stand-in: no -serial stdio in: $*" >&2; exit 64;; esac',
      body,
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);
  return path;
}

/** A pid is gone once /proc has no entry for it or it is a zombie waiting to be reaped. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z /.test(stat);
}

/** Every pid a stand-in recorded (itself and its helpers) is gone, within a second. */
async function expectNothingLeft(name: string): Promise<void> {
  const pids: number[] = [];
  for (const f of [`${name}.pid`, `${name}-child.pid`]) {
    const text = await readFile(join(dir, f), 'utf8').catch(() => undefined);
    if (text !== undefined) pids.push(Number(text.trim()));
  }
  expect(pids.length).toBeGreaterThan(0);
  const deadline = Date.now() + 1000;
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    left = (await Promise.all(pids.map(async (p) => ((await alive(p)) ? p : undefined)))).filter((p): p is number => p !== undefined);
    if (left.length > 0) await new Promise((r) => setTimeout(r, 50));
  }
  expect(left, `processes left behind by the ${name} stand-in`).toEqual([]);
}

const opts = (qemuBinary: string, extra: Partial<AccelProbeOptions> = {}): AccelProbeOptions => ({
  requested: 'auto',
  kernel,
  kvmDevice: device,
  ignoreCpuFlags: true,
  qemuBinary,
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kvm-probe-test-'));
  kernel = join(dir, 'vmlinuz');
  device = join(dir, 'kvm');
  await writeFile(kernel, 'not a kernel: the stand-ins only check that the probe passes this path\n');
  await writeFile(device, '');
});
afterAll(async () => {
  // Should a case fail, its stand-ins still go (they record their pids).
  for (const f of ['hangs', 'boots', 'fails', 'fails-silently']) {
    for (const suffix of ['.pid', '-child.pid']) {
      const pid = Number((await readFile(join(dir, f + suffix), 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('KVM boot test', () => {
  it('a guest that hangs silently: the probe gives up within its bound, falls back to TCG saying why, and leaves no process', async () => {
    // Like a qemu whose vCPU never runs: no console output, never exits. The helper child holds the console pipe
    // too, as any process qemu started would: the probe must not wait for it.
    const qemu = await standIn('hangs', 'a KVM guest that hangs without a word', `sleep 300 & echo $! > '${join(dir, 'hangs-child.pid')}'\nwait`);
    // The stand-in never prints and its child sleeps 300 s: a probe that ignored its bound would hang past the
    // test's timeout. The reason must say the bound, not an exit, decided.
    const decision = await decideAccel(opts(qemu, { bootTestMs: 1500 }));
    expect(decision.accel).toBe('tcg');
    expect(decision.reason).toMatch(/^KVM unusable: a KVM guest printed nothing on its console within \d+\.\ds \(it hangs\); using TCG$/);
    await expectNothingLeft('hangs');
  });

  it('a guest whose kernel prints its banner: KVM works, decided as soon as the line appears', async () => {
    // What a booting Linux prints first on ttyS0 (console=ttyS0), split over two writes; then it keeps running.
    const qemu = await standIn(
      'boots',
      'a KVM guest that boots a kernel',
      [
        "printf 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\\r\\nBooting from ROM...\\r\\n[    0.000000] Linux ver'",
        'sleep 0.2',
        "printf 'sion 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1\\r\\n'",
        `sleep 300 & echo $! > '${join(dir, 'boots-child.pid')}'`,
        'wait',
      ].join('\n'),
    );
    // The line decides: had the 10 s bound decided instead, the probe would say the guest hangs.
    const kvm = await probeKvm(opts(qemu, { bootTestMs: 10_000 }));
    expect(kvm).toEqual({ works: true, reason: expect.stringMatching(/^a KVM guest booted a kernel \(console answered in \d+\.\ds\)$/) });
    await expectNothingLeft('boots');
    expect((await decideAccel(opts(qemu))).accel).toBe('kvm');
    await expectNothingLeft('boots');
  });

  it('a qemu that fails to start KVM: the reason carries its error; `accel: kvm` refuses, `auto` falls back', async () => {
    const qemu = await standIn(
      'fails',
      'qemu refusing KVM',
      "echo 'Could not access KVM kernel module: Permission denied' >&2\necho 'qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied' >&2\nexit 1",
    );
    const kvm = await probeKvm(opts(qemu));
    expect(kvm).toEqual({ works: false, reason: 'qemu -accel kvm failed: qemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied' });
    expect(await decideAccel(opts(qemu))).toEqual({ accel: 'tcg', reason: `KVM unusable: ${kvm.reason}; using TCG` });
    const refused = await decideAccel(opts(qemu, { requested: 'kvm' })).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderUnavailable);
    expect((refused as Error).message).toContain('failed to initialize kvm: Permission denied');
    await expectNothingLeft('fails');

    const silent = await standIn('fails-silently', 'qemu exiting 1 without a message', 'exit 1');
    expect(await probeKvm(opts(silent))).toEqual({ works: false, reason: 'qemu -accel kvm failed: exit 1, no message' });
    expect(await probeKvm(opts(join(dir, 'no-such-qemu')))).toEqual({ works: false, reason: expect.stringMatching(/^qemu -accel kvm failed: .*ENOENT/) });
  });

  it('without the device node, nothing is booted', async () => {
    const qemu = await standIn('never-run', 'must not be started', 'exit 0');
    expect(await probeKvm(opts(qemu, { kvmDevice: join(dir, 'no-kvm') }))).toEqual({ works: false, reason: `${join(dir, 'no-kvm')} is missing or not accessible` });
    expect(await readFile(join(dir, 'never-run.pid'), 'utf8').catch(() => 'not started')).toBe('not started');
  });
});
