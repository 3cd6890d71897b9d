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
  bootTestMs?: number;
  qemuBinary?: string;
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
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { works: false, reason: '/dev/kvm is missing or not accessible' };
  }
  if (!opts.ignoreCpuFlags) {
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
    if (!/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
      return { works: false, reason: '/dev/kvm exists but the CPU has no vmx/svm flag (nested virtualization missing)' };
    }
  }
  if (!opts.kernel) return { works: true, reason: 'CPU has vmx/svm and /dev/kvm is accessible (no kernel to boot-test)' };
  const cached = opts.cacheDir && !opts.ignoreCpuFlags ? await readCached(opts.cacheDir) : undefined;
  if (cached) return cached;
  const result = await bootTest(opts.kernel, opts.bootTestMs ?? 6000, opts.qemuBinary ?? 'qemu-system-x86_64');
  if (opts.cacheDir && !opts.ignoreCpuFlags) await writeCached(opts.cacheDir, result);
  return result;
}

/** Boots `kernel` under KVM; a "Linux version" line on the serial console means the guest really runs. */
async function bootTest(kernel: string, timeoutMs: number, qemu: string): Promise<{ works: boolean; reason: string }> {
  const started = Date.now();
  const child = execa(
    qemu,
    ['-accel', 'kvm', '-nodefaults', '-display', 'none', '-m', '128', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', 'stdio'],
    { reject: false, timeout: timeoutMs, killSignal: 'SIGKILL', stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' },
  );
  let seen = false;
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString('latin1')).slice(-4096);
    if (!seen && out.includes('Linux version')) {
      seen = true;
      child.kill('SIGKILL');
    }
  });
  const res = await child;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (seen) return { works: true, reason: `a KVM guest booted a kernel (console answered in ${secs}s)` };
  if (res.timedOut) return { works: false, reason: `a KVM guest printed nothing on its console within ${secs}s (it hangs)` };
  return { works: false, reason: `qemu -accel kvm failed: ${String(res.stderr ?? '').trim().split('\n').pop() ?? `exit ${res.exitCode}`}` };
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
