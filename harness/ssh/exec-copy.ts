// File copies through exec channels (`cat`), for servers without an sftp subsystem (dropbear alone).
// Binary-safe: the bytes travel as the channel's stdin/stdout.
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Client } from 'ssh2';
import { runOnChannel } from './exec-channel.js';
import { shQuote } from './shell-quote.js';
import { TailSink } from './tail-sink.js';

export interface ExecCopyOptions {
  timeoutMs: number;
  /** Kills the `cat` on abort and rejects with the signal's reason. */
  signal?: AbortSignal;
}

export async function execPut(client: Client, localPath: string, remotePath: string, { timeoutMs, signal }: ExecCopyOptions): Promise<void> {
  const { mode } = await stat(localPath);
  const q = shQuote(remotePath);
  const command = `mkdir -p ${shQuote(posix.dirname(remotePath))} && cat > ${q} && chmod ${(mode & 0o7777).toString(8)} ${q}`;
  const stderr = new TailSink(4096);
  const input = createReadStream(localPath);
  // Killed mid-copy (timeout, abort), the channel stops reading: close the file here, not at garbage collection.
  const run = await runOnChannel(client, command, { timeoutMs, signal, stdin: input, stdout: new TailSink(4096), stderr }).finally(() => input.destroy());
  if (run.exitCode !== 0) throw new Error(`copy to ${remotePath} failed (${describe(run)}): ${stderr.text().trim()}`);
}

export async function execGet(client: Client, remotePath: string, localPath: string, { timeoutMs, signal }: ExecCopyOptions): Promise<void> {
  const q = shQuote(remotePath);
  const modeOut = new TailSink(64);
  const modeErr = new TailSink(4096);
  const probe = await runOnChannel(client, `test -f ${q} && stat -c %a ${q}`, { timeoutMs, signal, stdout: modeOut, stderr: modeErr });
  if (probe.exitCode !== 0) throw new Error(`copy from ${remotePath} failed: not a readable file (${describe(probe)}) ${modeErr.text().trim()}`);
  await mkdir(dirname(localPath), { recursive: true });
  const stderr = new TailSink(4096);
  const run = await runOnChannel(client, `cat ${q}`, { timeoutMs, signal, stdout: createWriteStream(localPath), stderr });
  if (run.exitCode !== 0) throw new Error(`copy from ${remotePath} failed (${describe(run)}): ${stderr.text().trim()}`);
  await chmod(localPath, parseInt(modeOut.text().trim(), 8) || 0o644);
}

function describe(run: { exitCode: number | null; timedOut: boolean; signal?: string }): string {
  return run.timedOut ? 'timed out' : run.signal ? `signal ${run.signal}` : `exit code ${run.exitCode}`;
}
