// Decides between KVM and TCG. /dev/kvm can exist while guests hang (no nested virtualization): the device
// node proves nothing, so `auto` checks the CPU flags and, when they claim support, boots a kernel under KVM
// and watches the serial console for a line only a running kernel prints. Silence within a few seconds means
// KVM is unusable and we fall back to TCG, saying why.
import { execa } from 'execa';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Accel } from '../events.js';
import { ProviderUnavailable } from '../errors.js';

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

export interface AccelProbeOptions {
  requested: 'auto' | 'kvm' | 'tcg';
  /** A kernel to boot for the real test (the tiny image's vmlinuz). Without one, the CPU flags decide. */
  kernel?: string;
  /** Where to remember the answer for this boot of the host. */
  cacheDir?: string;
  /** Run the boot test even when the CPU flags say no (used to test the hang detection itself). */
  ignoreCpuFlags?: boolean;
  /** How long the boot test waits for the kernel's first console line; default 6 s. */
  bootTestMs?: number;
  qemuBinary?: string;
  /** The KVM device node to check; default /dev/kvm (tests point it at a file to reach the boot test here). */
  kvmDevice?: string;
}

export async function decideAccel(opts: AccelProbeOptions): Promise<AccelDecision> {
  if (opts.requested === 'tcg') return { accel: 'tcg', reason: 'requested tcg' };
  const kvm = await probeKvm(opts);
  if (opts.requested === 'kvm' && !kvm.works) {
    throw new ProviderUnavailable('KVM', kvm.reason, 'use `accel: auto` or `accel: tcg`, or run on a host with hardware virtualization');
  }
  return kvm.works ? { accel: 'kvm', reason: kvm.reason } : { accel: 'tcg', reason: `KVM unusable: ${kvm.reason}; using TCG` };
}

export async function probeKvm(opts: AccelProbeOptions): Promise<{ works: boolean; reason: string }> {
  const device = opts.kvmDevice ?? '/dev/kvm';
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch {
    return { works: false, reason: `${device} is missing or not accessible` };
  }
  if (!opts.ignoreCpuFlags) {
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
    if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
      return { works: false, reason: `${device} exists but the CPU has no vmx/svm flag (nested virtualization missing)` };
    }
  }
  if (!opts.kernel) return { works: true, reason: `CPU has vmx/svm and ${device} is accessible (no kernel to boot-test)` };
  const cached = opts.cacheDir && !opts.ignoreCpuFlags ? await readCached(opts.cacheDir) : undefined;
  if (cached) return cached;
  const result = await bootTest(opts.kernel, opts.bootTestMs ?? 6000, opts.qemuBinary ?? 'qemu-system-x86_64');
  if (opts.cacheDir && !opts.ignoreCpuFlags) await writeCached(opts.cacheDir, result);
  return result;
}

/**
 * Boots `kernel` under KVM; a "Linux version" line on the serial console means the guest really runs.
 * qemu runs in its own process group and the whole group is killed (on that line, at the deadline, and when qemu
 * exits): whatever it started goes too, and nothing left holding its console pipe can keep the probe waiting.
 */
async function bootTest(kernel: string, timeoutMs: number, qemu: string): Promise<{ works: boolean; reason: string }> {
  const started = Date.now();
  const child = execa(
    qemu,
    ['-accel', 'kvm', '-nodefaults', '-display', 'none', '-m', '128', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', 'stdio'],
    { reject: false, detached: true, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
  );
  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* the group is gone already */
    }
  };
  let seen = false;
  let timedOut = false;
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString('latin1')).slice(-4096);
    if (!seen && out.includes('Linux version')) {
      seen = true;
      killGroup();
    }
  });
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  // qemu itself exiting (an error) ends the wait: its leftovers are killed so its pipes close. A detached group
  // outlives the harness unless killed, so the harness exiting mid-probe kills it too.
  void child.on('exit', killGroup);
  process.once('exit', killGroup);
  const res = await child.finally(() => {
    clearTimeout(timer);
    process.off('exit', killGroup);
  });
  killGroup();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (seen) return { works: true, reason: `a KVM guest booted a kernel (console answered in ${secs}s)` };
  if (timedOut) return { works: false, reason: `a KVM guest printed nothing on its console within ${secs}s (it hangs)` };
  const message = String(res.stderr ?? '').trim().split('\n').pop() || (res.code ?? `exit ${res.exitCode}, no message`);
  return { works: false, reason: `qemu -accel kvm failed: ${message}` };
}

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown')).trim();
}

async function readCached(dir: string): Promise<{ works: boolean; reason: string } | undefined> {
  try {
    const c = JSON.parse(await readFile(join(dir, 'kvm-probe.json'), 'utf8')) as { bootId: string; works: boolean; reason: string };
    return c.bootId === (await bootId()) ? { works: c.works, reason: `${c.reason} (probed earlier this boot)` } : undefined;
  } catch {
    return undefined;
  }
}

async function writeCached(dir: string, r: { works: boolean; reason: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'kvm-probe.json'), JSON.stringify({ ...r, bootId: await bootId() }));
}
