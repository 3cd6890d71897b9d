// Runs one command on an open SSH connection through an exec channel, streaming its output into sinks.
// A command that outlives its timeout, or whose abort signal fires, gets `signal KILL` and its channel is closed,
// so it can never hang us.
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Client, ClientChannel } from 'ssh2';

export interface ChannelRunOptions {
  timeoutMs: number;
  /** Sent to the command, then EOF. Without it the command sees EOF at once. */
  stdin?: string | Buffer | Readable;
  stdout: Writable;
  stderr: Writable;
  /** After a timeout or abort, how long to wait for the server to confirm the close before giving up on it. Default 2 s. */
  closeGraceMs?: number;
  /** On abort the command is stopped as a timeout stops it; a run not settled by then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export interface ChannelRun {
  /** null when the command was killed, ended by a signal, or the channel closed without a status. */
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  durationMs: number;
}

export function runOnChannel(client: Client, command: string, o: ChannelRunOptions): Promise<ChannelRun> {
  const started = performance.now();
  const abortSignal = o.signal;
  // Already aborted: open nothing, so not even a short-lived command starts.
  if (abortSignal?.aborted) return Promise.reject(abortSignal.reason);
  return new Promise<ChannelRun>((resolve, reject) => {
    let channel: ClientChannel | undefined;
    let exitCode: number | null = null;
    let signal: string | undefined;
    let stopping: 'timeout' | 'abort' | undefined;
    let done = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      done = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      abortSignal?.removeEventListener('abort', onAbort);
    };
    const finish = () => {
      if (done) return;
      cleanup();
      if (abortSignal?.aborted) return reject(abortSignal.reason); // aborted before we settled, even mid-timeout
      resolve({ exitCode, signal, timedOut: stopping === 'timeout', durationMs: Math.round(performance.now() - started) });
    };
    // Timeout and abort end the command the same way (an abort after a timeout has nothing left to kill).
    const stop = (why: 'timeout' | 'abort') => {
      if (stopping || done) return;
      stopping = why;
      if (channel) kill(channel);
      // A hung server may never confirm the close: settle anyway and stop reading.
      graceTimer = setTimeout(() => {
        channel?.unpipe(o.stdout);
        channel?.stderr.unpipe(o.stderr);
        finish();
      }, o.closeGraceMs ?? 2_000);
    };
    const onAbort = () => stop('abort');
    // The clock starts now, not when the server opens the channel: a hung server may never open it.
    const timer = setTimeout(() => stop('timeout'), o.timeoutMs);
    abortSignal?.addEventListener('abort', onAbort, { once: true });

    client.exec(command, (err, ch) => {
      if (err) {
        if (!done) {
          cleanup();
          reject(abortSignal?.aborted ? abortSignal.reason : err);
        }
        return;
      }
      channel = ch;
      if (stopping) {
        kill(ch); // opened after we gave up waiting: stop it at once
        if (done) {
          ch.on('error', () => {});
          ch.resume();
          ch.stderr.resume();
          return;
        }
      }
      ch.on('exit', (code: number | null, sig?: string) => {
        if (typeof code === 'number') exitCode = code;
        else if (sig) signal = sig;
      });
      ch.on('error', () => {}); // surfaced as a close without status; the caller checks the connection
      ch.pipe(o.stdout);
      ch.stderr.pipe(o.stderr);
      const closed = new Promise<void>((r) => ch.once('close', () => r()));
      void Promise.all([closed, finished(o.stdout).catch(() => {}), finished(o.stderr).catch(() => {})]).then(finish);

      if (o.stdin === undefined) ch.end();
      else if (o.stdin instanceof Readable) o.stdin.pipe(ch);
      else ch.end(o.stdin);
    });
  });
}

/** Asks the server to KILL the command, then closes the channel. */
function kill(channel: ClientChannel): void {
  sendSignal(channel, 'KILL');
  channel.close();
}

/**
 * Sends an SSH `signal` request. ssh2's channel.signal() refuses once stdin is closed (the stream is no longer
 * writable), yet the protocol allows the request after EOF, so this falls back to ssh2's protocol object.
 */
export function sendSignal(channel: ClientChannel, name: string): void {
  if (channel.writable) return channel.signal(name);
  const c = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  if (c.outgoing && (c.outgoing.state === 'open' || c.outgoing.state === 'eof')) {
    try {
      c._client?._protocol?.signal(c.outgoing.id, name);
    } catch {
      // the connection is going away; closing the channel is all that is left
    }
  }
}
