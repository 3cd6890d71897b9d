// RunningVm: the verb API tests use on a booted machine, in the NixOS test driver's style
// (succeed / fail / execute / waitUntilSucceeds / waitForPort / copyTo / ssh). Built on a Target; every wait is
// one check retried by one helper, and a failure carries the command, exit code and output tails.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssertionFailed, SshConnectionLost, VmExited } from './errors.js';
import type { Clock } from './retry.js';
import { knownHostsLine } from './ssh/host-key.js';
import { shQuote } from './ssh/shell-quote.js';
import { checkCommand, checkFile, checkPort, checkProcess, exitDescription, type Observation } from './steps/checks.js';
import { tailText } from './steps/result.js';
import { retryCheck } from './steps/retry-check.js';
import type { CopyOptions, ExecOptions, ExecResult, Target } from './targets/target.js';

export interface MachineInfo {
  name: string;
  /** Where SSH answers on the host (127.0.0.1 and the forwarded port). */
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** The pinned host key line; without it `sshCommand()` still refuses unknown keys. */
  hostPublicKey: string | undefined;
  /** The VM's state directory (vms/<name>); known_hosts is written here. */
  dir: string;
  /** Extra forwards, guest port -> host port on 127.0.0.1. */
  forwards?: Record<number, number>;
  /** Resolves false once the VM's process is gone. */
  isAlive?: () => Promise<boolean>;
  /** The last console lines, for VmExited. */
  consoleTail?: () => Promise<string[]>;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  clock?: Clock;
  /** Stops the wait at once and kills the probe running; the wait rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The one default for every wait, so it is not repeated as a literal. */
export const DEFAULT_WAIT_MS = 60_000;
export const DEFAULT_WAIT_INTERVAL_MS = 500;

export class RunningVm {
  constructor(
    readonly target: Target,
    readonly info: MachineInfo,
  ) {}

  get name(): string {
    return this.info.name;
  }

  /** How to reach the machine by hand. */
  get ssh(): { host: string; port: number; user: string; privateKeyPath: string; knownHostsPath: string } {
    const { host, port, user, privateKeyPath } = this.info;
    return { host, port, user, privateKeyPath, knownHostsPath: this.knownHostsPath };
  }

  /** The host port a guest port is forwarded to. */
  hostPort(guestPort: number): number {
    const p = this.info.forwards?.[guestPort];
    if (p === undefined) throw new AssertionFailed(`guest port ${guestPort} of ${this.name} is not forwarded (forwarded: ${Object.keys(this.info.forwards ?? {}).join(', ') || 'none'})`);
    return p;
  }

  /** Runs a command and returns its result whatever the exit code. */
  execute(command: string, opts?: ExecOptions): Promise<ExecResult> {
    return this.guard(() => this.target.exec(command, opts));
  }

  /** Runs a command that must exit 0; returns its stdout. */
  async succeed(command: string, opts?: ExecOptions): Promise<string> {
    const r = await this.execute(command, opts);
    if (r.exitCode !== 0) throw failure(`succeed on ${this.name}: ${exitDescription(r)}, expected 0`, r);
    return r.stdout;
  }

  /** Runs a command that must exit non-zero (and not time out); returns its stdout. */
  async fail(command: string, opts?: ExecOptions): Promise<string> {
    const r = await this.execute(command, opts);
    if (r.exitCode === 0 || r.timedOut) throw failure(`fail on ${this.name}: ${exitDescription(r)}, expected a non-zero exit code`, r);
    return r.stdout;
  }

  /** Retries a command until it exits 0; returns its stdout. */
  async waitUntilSucceeds(command: string, opts: WaitOptions = {}): Promise<string> {
    const o = await this.waitFor(`waitUntilSucceeds`, () => checkCommand(this.target, command, { timeoutMs: this.perTry(opts), signal: opts.signal }), opts);
    return o.result.stdout;
  }

  /** Retries a command until it exits non-zero; returns its stdout. */
  async waitUntilFails(command: string, opts: WaitOptions = {}): Promise<string> {
    const o = await this.waitFor(
      `waitUntilFails`,
      async () => {
        const seen = await checkCommand(this.target, command, { timeoutMs: this.perTry(opts), signal: opts.signal });
        const ok = !seen.ok && !seen.result.timedOut;
        return { ...seen, ok, summary: ok ? seen.summary : `command still ${seen.result.timedOut ? 'times out' : 'succeeds'} on ${this.name}` };
      },
      opts,
    );
    return o.result.stdout;
  }

  /** Waits until something in the guest listens on a TCP port (read from /proc/net/tcp{,6}). */
  async waitForPort(port: number, opts: WaitOptions = {}): Promise<void> {
    await this.waitFor(`waitForPort`, () => checkPort(this.target, port, { timeoutMs: this.perTry(opts), signal: opts.signal }), opts);
  }

  async waitForFile(path: string, opts: WaitOptions = {}): Promise<void> {
    await this.waitFor(`waitForFile`, () => checkFile(this.target, path, undefined, { timeoutMs: this.perTry(opts), signal: opts.signal }), opts);
  }

  /** Waits until a process with this comm / argv[0] name runs (see findProcesses). */
  async waitForProcess(name: string, opts: WaitOptions = {}): Promise<void> {
    await this.waitFor(`waitForProcess`, () => checkProcess(this.target, name, { timeoutMs: this.perTry(opts), signal: opts.signal }), opts);
  }

  copyTo(localPath: string, remotePath: string, opts?: CopyOptions): Promise<void> {
    return this.guard(() => this.target.copyTo(localPath, remotePath, opts));
  }

  copyFrom(remotePath: string, localPath: string, opts?: CopyOptions): Promise<void> {
    return this.guard(() => this.target.copyFrom(remotePath, localPath, opts));
  }

  /** argv for OpenSSH's client, host key pinned through a known_hosts file in the VM dir (written now). */
  sshArgs(): string[] {
    const { host, port, user, privateKeyPath, hostPublicKey } = this.info;
    const pin: string[] = [];
    if (hostPublicKey) {
      writeFileSync(this.knownHostsPath, knownHostsLine(host, port, hostPublicKey) + '\n', { mode: 0o644 });
      pin.push('-o', `UserKnownHostsFile=${this.knownHostsPath}`);
    }
    return ['ssh', '-i', privateKeyPath, '-p', String(port), ...pin, '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', `${user}@${host}`];
  }

  /** The same as one line to paste into a shell. */
  sshCommand(): string {
    return this.sshArgs()
      .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : shQuote(a)))
      .join(' ');
  }

  close(): Promise<void> {
    return this.target.close();
  }

  private get knownHostsPath(): string {
    return join(this.info.dir, 'known_hosts');
  }

  /** A probe may not outlive its wait. */
  private perTry(opts: WaitOptions): number {
    return Math.min(opts.timeoutMs ?? DEFAULT_WAIT_MS, 60_000);
  }

  /** Retries a check; when time runs out, throws AssertionFailed with what the last try saw. */
  private async waitFor(verb: string, check: () => Promise<Observation>, opts: WaitOptions): Promise<Observation> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
    const { last, attempts } = await this.guard(() =>
      retryCheck(check, { timeoutMs, intervalMs: opts.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS, clock: opts.clock, signal: opts.signal }),
    );
    if (!last.ok) throw failure(`${verb} on ${this.name}: ${last.summary} (still failing after ${timeoutMs} ms, ${attempts} attempts)`, last.result);
    return last;
  }

  /** Turns a lost connection into VmExited (with the console tail) when the VM process is gone. */
  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof SshConnectionLost)) throw e;
      const alive = e.vmAlive ?? (this.info.isAlive ? await this.info.isAlive().catch(() => undefined) : undefined);
      if (alive !== false) throw e;
      const tail = this.info.consoleTail ? await this.info.consoleTail().catch(() => []) : [];
      const exited = new VmExited(this.name, tail, e.detail);
      (exited as { cause?: unknown }).cause = e;
      throw exited;
    }
  }
}

function failure(summary: string, r: ExecResult): AssertionFailed {
  return new AssertionFailed(summary, { command: r.command, exitCode: r.exitCode, stdoutTail: tailText(r.stdout), stderrTail: tailText(r.stderr) });
}
