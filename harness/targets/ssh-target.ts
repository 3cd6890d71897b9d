// A Target over ONE reused SSH connection per VM: commands are exec channels on it, copies are SFTP (or `cat`
// when the guest has no sftp-server). When the connection drops, everything in flight rejects with
// SshConnectionLost (carrying what the VM's isAlive probe said, so the caller can report VmExited), and the next
// call reconnects once.
import { HarnessError, SshConnectionLost } from '../errors.js';
import { connectSsh, type ConnectOptions, type SshSession } from '../ssh/connect.js';
import { runOnChannel } from '../ssh/exec-channel.js';
import { execGet, execPut } from '../ssh/exec-copy.js';
import { envPrefix } from '../ssh/shell-quote.js';
import { endSftp, openSftp, SftpUnavailable, sftpGet, sftpPut } from '../ssh/sftp-copy.js';
import { TailSink } from '../ssh/tail-sink.js';
import type { CopyOptions, ExecOptions, ExecResult, Target } from './target.js';

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** How long a copy may take before it is abandoned. */
export const DEFAULT_COPY_TIMEOUT_MS = 300_000;

/** How a copy travelled: SFTP, or `cat` over an exec channel (the server has no sftp subsystem). */
export type CopyTransport = 'sftp' | 'exec';

export interface SshTargetHooks {
  /** Resolves false once the VM's process is gone; asked when the connection drops. */
  isAlive?: () => Promise<boolean>;
}

export class SshTarget implements Target {
  readonly kind = 'ssh' as const;
  private session: SshSession | undefined;
  private connecting: Promise<SshSession> | undefined;
  private readonly lostErrors = new WeakMap<SshSession, Promise<SshConnectionLost>>();
  private sftpAvailable: boolean | undefined;
  private lastTransport: CopyTransport | undefined;
  /** Rejecters of the operations running on each session. */
  private readonly inFlight = new WeakMap<SshSession, Set<(err: Error) => void>>();
  private closedByUser = false;

  /** `connect` opens a fresh session; it is called now and again after a drop. */
  constructor(
    readonly name: string,
    private readonly connect: () => Promise<SshSession>,
    private readonly hooks: SshTargetHooks = {},
  ) {}

  /** Connects (host key pinned) and returns a target; connection errors surface here. */
  static async open(name: string, options: ConnectOptions, hooks: SshTargetHooks = {}): Promise<SshTarget> {
    const target = new SshTarget(name, () => connectSsh(options), hooks);
    await target.currentSession();
    return target;
  }

  /** SHA256 fingerprint of the host key of the current connection, if connected. */
  get hostKeyFingerprint(): string | undefined {
    return this.session?.hostKeyFingerprint;
  }

  /** The transport of the last copy that completed (undefined before any): tells SFTP from the `cat` fallback. */
  get lastCopyTransport(): CopyTransport | undefined {
    return this.lastTransport;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    options.signal?.throwIfAborted(); // not even a reconnect for a run that is already over
    const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new TailSink(cap);
    const stderr = new TailSink(cap);
    const full = envPrefix(options.env) + command;
    const run = await this.withSession(async (s) => {
      const r = await runOnChannel(s.client, full, {
        timeoutMs: options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS,
        stdin: options.stdin,
        signal: options.signal,
        stdout,
        stderr,
      });
      // A channel that closed with no status and no timeout: the connection went away under it.
      if (!r.timedOut && r.exitCode === null && r.signal === undefined && !s.isOpen) throw await this.lostError(s);
      return r;
    }, options.signal);
    return {
      command,
      exitCode: run.exitCode,
      ...(run.signal !== undefined ? { signal: run.signal } : {}),
      stdout: stdout.text(),
      stderr: stderr.text(),
      durationMs: run.durationMs,
      timedOut: run.timedOut,
      droppedBytes: { stdout: stdout.dropped, stderr: stderr.dropped },
      maxOutputBytes: cap,
    };
  }

  async copyTo(localPath: string, remotePath: string, options: CopyOptions = {}): Promise<void> {
    await this.copy('to', localPath, remotePath, options.signal);
  }

  async copyFrom(remotePath: string, localPath: string, options: CopyOptions = {}): Promise<void> {
    await this.copy('from', remotePath, localPath, options.signal);
  }

  async close(): Promise<void> {
    this.closedByUser = true;
    await this.session?.close();
  }

  /** Copies over SFTP, or with `cat` through exec when the server has no sftp subsystem. */
  private async copy(direction: 'to' | 'from', from: string, to: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.withSession(async (s) => {
        if (this.sftpAvailable !== false) {
          try {
            const sftp = await openSftp(s.client);
            this.sftpAvailable = true;
            // Ending the SFTP channel fails every pending request, so the copy stops where it is.
            const onAbort = () => sftp.end();
            signal?.addEventListener('abort', onAbort, { once: true });
            try {
              signal?.throwIfAborted();
              if (direction === 'to') await sftpPut(sftp, from, to);
              else await sftpGet(sftp, from, to);
            } finally {
              signal?.removeEventListener('abort', onAbort);
              await endSftp(sftp);
            }
            this.lastTransport = 'sftp';
            return;
          } catch (e) {
            if (!(e instanceof SftpUnavailable)) throw e;
            this.sftpAvailable = false;
          }
        }
        const o = { timeoutMs: DEFAULT_COPY_TIMEOUT_MS, signal };
        if (direction === 'to') await execPut(s.client, from, to, o);
        else await execGet(s.client, from, to, o);
        this.lastTransport = 'exec';
      }, signal);
    } catch (e) {
      if (signal?.aborted) throw signal.reason; // whatever failed on the way out, the copy was cancelled
      if (e instanceof HarnessError) throw e;
      const where = direction === 'to' ? `${from} to ${this.name}:${to}` : `${this.name}:${from} to ${to}`;
      throw new HarnessError(`copy ${where} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Runs `op` on the current session; if the session drops first, rejects with SshConnectionLost instead.
   * An `op` that rejects because `signal` aborted keeps the abort reason, even if the session went away meanwhile.
   */
  private async withSession<T>(op: (s: SshSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const s = await this.currentSession();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const pending = this.inFlight.get(s) ?? new Set();
      this.inFlight.set(s, pending);
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        pending.delete(onLost);
        f();
      };
      // Registered in a set (not as a listener on s.closed) so finished operations are not retained.
      const onLost = (err: Error) => settle(() => reject(err));
      pending.add(onLost);
      op(s).then(
        (v) => settle(() => resolve(v)),
        async (e: unknown) => {
          const cancelled = signal?.aborted && e === signal.reason;
          const err = !cancelled && !s.isOpen && !(e instanceof SshConnectionLost) ? await this.lostError(s) : e;
          settle(() => reject(err));
        },
      );
    });
  }

  /** Watches a new session: when it drops, everything in flight on it rejects. */
  private watch(s: SshSession): void {
    void s.closed.then(async (reason) => {
      const err =
        reason === undefined && this.closedByUser
          ? new HarnessError(`target ${this.name} was closed while an operation was running`)
          : await this.lostError(s);
      for (const onLost of [...(this.inFlight.get(s) ?? [])]) onLost(err);
    });
  }

  /** The open session, reconnecting once if the previous one dropped. */
  private currentSession(): Promise<SshSession> {
    if (this.closedByUser) return Promise.reject(new HarnessError(`target ${this.name} is closed`));
    if (this.session?.isOpen) return Promise.resolve(this.session);
    if (!this.connecting) {
      const previous = this.session;
      this.connecting = this.connect()
        .then(
          async (s) => {
            if (this.closedByUser) {
              await s.close(); // close() ran while we were connecting
              throw new HarnessError(`target ${this.name} is closed`);
            }
            this.session = s;
            this.watch(s);
            return s;
          },
          async (e: unknown) => {
            if (!previous) throw e;
            const lost = await this.lostError(previous);
            throw new SshConnectionLost(this.name, `${lost.detail}; reconnecting failed: ${(e as Error).message}`, lost.vmAlive, { cause: e });
          },
        )
        .finally(() => {
          this.connecting = undefined;
        });
    }
    return this.connecting;
  }

  /** One SshConnectionLost per dropped session, with the VM's liveness asked once. */
  private lostError(s: SshSession): Promise<SshConnectionLost> {
    let p = this.lostErrors.get(s);
    if (!p) {
      p = (async () => {
        const reason = await s.closed;
        const detail = reason?.message ?? 'the connection was closed';
        let alive: boolean | undefined;
        try {
          alive = this.hooks.isAlive ? await this.hooks.isAlive() : undefined;
        } catch {
          alive = undefined;
        }
        return new SshConnectionLost(this.name, detail, alive, { cause: reason });
      })();
      this.lostErrors.set(s, p);
    }
    return p;
  }
}
