// Typed errors: callers tell a timeout from a failure by class, and the CLI maps each class to an exit code.

/** Base class: every harness error keeps its cause and knows the CLI exit code it maps to. */
export class HarnessError extends Error {
  readonly exitCode: number = 3;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in a scenario file a problem sits. line/col are 1-based; absent when the source has no position. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
}

export interface ScenarioIssue extends SourceLocation {
  /** Field path such as `vms.server.memory` or `steps[1].on`. */
  path: string;
  expected: string;
  found: string;
}

/** Invalid input (exit 2). The message lists every issue as `file:line:col: path: expected X, found Y`. */
export class ScenarioError extends HarnessError {
  override readonly exitCode = 2;
  constructor(readonly issues: ScenarioIssue[], options?: { cause?: unknown }) {
    super(issues.map(formatIssue).join('\n'), options);
  }
}

export function formatIssue(i: ScenarioIssue): string {
  const where = [i.file, i.line, i.col].filter((x) => x !== undefined).join(':');
  return `${where}: ${i.path || '(document)'}: expected ${i.expected}, found ${i.found}`;
}

/** A provider or tool that cannot work here (exit 3), with the command that fixes it. */
export class ProviderUnavailable extends HarnessError {
  constructor(readonly provider: string, readonly reason: string, readonly fix?: string, options?: { cause?: unknown }) {
    super(`${provider} is not available: ${reason}${fix ? `\n  fix: ${fix}` : ''}`, options);
  }
}

/** SSH never became ready within the boot timeout (exit 3); carries the last console lines. */
export class BootTimeout extends HarnessError {
  constructor(readonly vm: string, readonly timeoutMs: number, readonly consoleTail: string[], readonly lastError?: string) {
    super(
      `VM ${vm} did not answer SSH within ${Math.round(timeoutMs / 1000)}s` +
        (lastError ? ` (last error: ${lastError})` : '') +
        `\n--- last ${consoleTail.length} console lines ---\n${consoleTail.join('\n')}`,
    );
  }
}

/** The VM process went away while the harness needed it (exit 3). */
export class VmExited extends HarnessError {
  constructor(readonly vm: string, readonly consoleTail: string[], detail = '') {
    super(`VM exited: ${vm}${detail ? ` (${detail})` : ''}\n--- last ${consoleTail.length} console lines ---\n${consoleTail.join('\n')}`);
  }
}

/** A step's expectation did not hold (exit 1). */
export class AssertionFailed extends HarnessError {
  override readonly exitCode = 1;
  constructor(
    readonly summary: string,
    readonly details: { command?: string; exitCode?: number | null; stdoutTail?: string; stderrTail?: string } = {},
  ) {
    super(
      [
        summary,
        details.command !== undefined ? `  command: ${details.command}` : '',
        details.exitCode !== undefined ? `  exit code: ${details.exitCode}` : '',
        details.stdoutTail ? `  stdout (tail):\n${indent(details.stdoutTail)}` : '',
        details.stderrTail ? `  stderr (tail):\n${indent(details.stderrTail)}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
}

/** A lock is held by someone else (exit 3); says who. */
export class LockBusy extends HarnessError {
  constructor(readonly resource: string, readonly holder: { pid?: number; host?: string; command?: string; since?: string }) {
    super(
      `${resource} is locked by ${holder.pid !== undefined ? `pid ${holder.pid}` : 'another process'}` +
        (holder.host ? ` on ${holder.host}` : '') +
        (holder.command ? ` (${holder.command})` : '') +
        (holder.since ? ` since ${holder.since}` : ''),
    );
  }
}

/** A command run on a target exceeded its timeout and was killed. */
export class CommandTimeout extends HarnessError {
  override readonly exitCode = 1;
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`command timed out after ${timeoutMs} ms and was killed: ${command}`);
  }
}

/** The SSH server presented a host key other than the pinned one, or none was pinned (exit 3). Never retried. */
export class HostKeyMismatch extends HarnessError {
  constructor(
    readonly host: string,
    readonly port: number,
    /** SHA256:... of the pinned key; undefined when nothing was pinned. */
    readonly expected: string | undefined,
    /** SHA256:... of the key the server presented; undefined when we refused before connecting. */
    readonly presented: string | undefined,
  ) {
    super(
      expected === undefined
        ? `refusing to connect to ${host}:${port}: no pinned host key was given (the harness never trusts a host key blindly)`
        : `host key mismatch for ${host}:${port}: expected ${expected}, the server presented ${presented ?? 'no key'}`,
    );
  }
}

/** An SSH connection could not be set up (exit 3). `stage` tells readiness loops whether waiting longer can help. */
export class SshConnectFailed extends HarnessError {
  constructor(
    readonly host: string,
    readonly port: number,
    /** tcp: socket refused/reset; handshake: banner or key exchange did not finish; auth: our key was refused. */
    readonly stage: 'tcp' | 'handshake' | 'auth',
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`SSH to ${host}:${port} failed during ${stage}: ${detail}`, options);
  }
}

/** The SSH connection to a machine dropped (VM died, network gone, keepalive timed out) (exit 3). */
export class SshConnectionLost extends HarnessError {
  constructor(
    readonly target: string,
    readonly detail: string,
    /** What the VM's isAlive probe said when the loss was noticed; undefined when there is no probe. */
    readonly vmAlive?: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      `SSH connection to ${target} was lost: ${detail}` +
        (vmAlive === false ? ' (the VM process is gone)' : vmAlive === true ? ' (the VM process is still running)' : ''),
      options,
    );
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
