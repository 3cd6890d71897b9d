// Readiness = an SSH banner on the forwarded port, then a handshake that accepts only the pinned host key,
// then `true` succeeds. Progress is emitted every second; a dead VM fails fast with VmExited, and a timeout
// becomes BootTimeout carrying the last console lines.
import type { EmittedEvent } from './events.js';
import { BootTimeout, HarnessError, VmExited } from './errors.js';
import { consoleTail } from './providers/vm-state.js';
import type { StartedMachine } from './providers/provider.js';
import { sshBanner } from './providers/ssh-probe.js';
import type { Target } from './targets/target.js';
import { realClock, type Clock } from './retry.js';

export interface ReadinessOptions {
  timeoutMs: number;
  /** Opens an authenticated, host-key-pinned session; throws when the guest isn't ready (or the key is wrong). */
  connect: () => Promise<Target>;
  emit: (e: EmittedEvent) => void;
  signal?: AbortSignal;
  clock?: Clock;
  /** Poll interval; small, because every wasted interval is added to time-to-SSH. */
  intervalMs?: number;
}

/** Errors that waiting can't fix: give up at once instead of retrying until the timeout. */
export function isFatalHandshakeError(e: unknown): boolean {
  return e instanceof HarnessError && /host key|HostKeyMismatch/i.test(`${e.name} ${e.message}`);
}

export async function waitForSsh(machine: StartedMachine, opts: ReadinessOptions): Promise<Target> {
  const clock = opts.clock ?? realClock;
  const interval = opts.intervalMs ?? 200;
  const started = clock.now();
  const deadline = started + opts.timeoutMs;
  let phase: 'tcp' | 'handshake' | 'command' = 'tcp';
  let lastError: string | undefined;
  let lastReport = -1;
  let bannerSeen = false;
  const report = () => {
    const sec = Math.floor((clock.now() - started) / 1000);
    if (sec !== lastReport) {
      lastReport = sec;
      opts.emit({ type: 'vm.waiting', vm: machine.name, phase, elapsedMs: clock.now() - started, lastError });
    }
  };

  while (clock.now() < deadline) {
    opts.signal?.throwIfAborted();
    report();
    if (!(await machine.isAlive())) throw new VmExited(machine.name, await consoleTail(machine.consoleLog), 'while waiting for SSH');
    if (phase === 'tcp') {
      // Probes overlap: while the guest is down, qemu's forwarder accepts and then holds a connection until the
      // probe's own timeout, so awaiting each probe would check only once per timeout instead of per interval.
      if (!bannerSeen) {
        void sshBanner(machine.sshPort, machine.sshHost, 1500).then((b) => {
          if (b) bannerSeen = true;
        });
        await clock.sleep(interval);
        continue;
      }
      phase = 'handshake';
    }
    let target: Target | undefined;
    try {
      target = await opts.connect();
      phase = 'command';
      const r = await target.exec('true', { timeoutMs: 15_000, signal: opts.signal });
      if (r.exitCode === 0) {
        opts.emit({ type: 'vm.ready', vm: machine.name, elapsedMs: clock.now() - started });
        return target;
      }
      lastError = `\`true\` exited ${r.exitCode}: ${r.stderr.trim().slice(-200)}`;
    } catch (e) {
      if (isFatalHandshakeError(e)) {
        await target?.close().catch(() => undefined);
        throw e;
      }
      lastError = (e as Error).message;
    }
    await target?.close().catch(() => undefined);
    phase = 'handshake';
    await clock.sleep(interval);
  }
  throw new BootTimeout(machine.name, opts.timeoutMs, await consoleTail(machine.consoleLog, 30), lastError);
}
