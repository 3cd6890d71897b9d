// Where a step runs: an SSH session into a VM, a container's exec, or (later) the Kubernetes API.
// Success and failure results have the same shape, so callers never branch on type to read a field.
// Cancelling is not a result but a rejection: an aborted exec or copy rejects with its signal's reason (as fetch
// and node:timers/promises do), so an abort travels up through steps and retry loops like any thrown error.

export interface ExecOptions {
  /** Kill the command after this long; the result then has timedOut=true. Default 60 s. */
  timeoutMs?: number;
  /** Keep at most this many bytes of each stream (the tail is kept); default 1 MiB. */
  maxOutputBytes?: number;
  env?: Record<string, string>;
  stdin?: string;
  /**
   * Ends the command early: on abort it is killed the way a timeout kills it, and exec, if it has not settled
   * yet, rejects with `signal.reason` (never a result). An already-aborted signal runs nothing.
   */
  signal?: AbortSignal;
}

export interface CopyOptions {
  /** Stops the copy where the transport allows it and rejects with `signal.reason`; already aborted copies nothing. */
  signal?: AbortSignal;
}

export interface ExecResult {
  command: string;
  /** null when the command was killed or the connection dropped. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** Bytes dropped from the start of each stream by the output cap (0 = nothing dropped). */
  droppedBytes: { stdout: number; stderr: number };
  /** The cap in effect (ExecOptions.maxOutputBytes or the target's default): each stream kept at most its last this-many bytes. */
  maxOutputBytes: number;
}

export interface Target {
  readonly name: string;
  readonly kind: 'ssh' | 'container' | 'kube';
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  copyTo(localPath: string, remotePath: string, options?: CopyOptions): Promise<void>;
  copyFrom(remotePath: string, localPath: string, options?: CopyOptions): Promise<void>;
  close(): Promise<void>;
}
