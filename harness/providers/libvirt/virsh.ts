// virsh as a process: there is no mature Node binding for libvirt, and virsh is what a person would type, so
// every call here can be replayed by hand. Every call carries `-c URI`; failures keep the command and stderr.
import { execa } from 'execa';
import { HarnessError } from '../../errors.js';

export interface VirshResult {
  args: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

/** A virsh command failed; `notFound` tells "no such domain/snapshot" from a real failure. */
export class VirshFailed extends HarnessError {
  readonly notFound: boolean;
  constructor(readonly uri: string, readonly result: VirshResult) {
    super(
      `virsh -c ${uri} ${result.args.join(' ')} ${result.timedOut ? 'timed out' : `exited ${result.exitCode}`}: ` +
        (result.stderr.trim() || result.stdout.trim() || '(no output)'),
    );
    this.notFound = isNotFound(result.stderr);
  }
}

/** libvirt's wording for a missing domain ("failed to get domain 'x'", "Domain not found: ..."). */
export function isNotFound(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching name|Domain snapshot not found|snapshot .* not found/i.test(stderr);
}

export interface VirshRunOptions {
  timeoutMs?: number;
}

export class Virsh {
  constructor(
    readonly uri: string,
    private readonly binary = 'virsh',
    private readonly defaultTimeoutMs = 120_000,
  ) {}

  /** Runs `virsh -c URI ...args`; never throws for a non-zero exit (read `exitCode`). */
  async run(args: string[], opts: VirshRunOptions = {}): Promise<VirshResult> {
    const started = Date.now();
    const r = await execa(this.binary, ['-q', '-c', this.uri, ...args], {
      reject: false,
      stdin: 'ignore',
      timeout: opts.timeoutMs ?? this.defaultTimeoutMs,
      // virsh would open $EDITOR or ask for a password on a TTY; it has none here, and must not wait for one.
      env: { LC_ALL: 'C', VISUAL: 'false', EDITOR: 'false' },
    });
    if (r.failed && r.exitCode === undefined && !r.timedOut && (r as { code?: string }).code === 'ENOENT') {
      throw new HarnessError(`virsh not found (looked for ${JSON.stringify(this.binary)} on PATH)`, { cause: r });
    }
    return {
      args,
      exitCode: r.exitCode ?? null,
      stdout: String(r.stdout ?? ''),
      stderr: String(r.stderr ?? ''),
      durationMs: Date.now() - started,
      timedOut: r.timedOut,
    };
  }

  /** Runs and returns trimmed stdout; throws VirshFailed on a non-zero exit. */
  async ok(args: string[], opts: VirshRunOptions = {}): Promise<string> {
    const r = await this.run(args, opts);
    if (r.exitCode !== 0) throw new VirshFailed(this.uri, r);
    return r.stdout.trim();
  }
}
