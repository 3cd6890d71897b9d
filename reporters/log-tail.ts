// Reads the tail of each VM's console log file (the qemu serial log named by `artifact` events) when a report is
// written, so file-based reports embed the console without the run having streamed it line by line. What is read
// is redacted first (harness/redact-file.ts): qemu writes the file itself, secrets included.
import { resolve } from 'node:path';
import { readRedactedTail } from '../harness/redact-file.js';
import type { RunModel } from './run-model.js';

/** Console text per VM name, and where it came from. */
export type ConsoleSource = Map<string, { lines: string[]; from: string }>;

/** The last `maxLines` lines within the last `maxBytes` of a file (a cut first line dropped), redacted; undefined if unreadable. */
export async function readLogTail(path: string, maxLines: number, maxBytes = 256 * 1024): Promise<string[] | undefined> {
  const text = await readRedactedTail(path, maxBytes);
  if (text === undefined) return undefined;
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-maxLines);
}

/**
 * Each VM's console for a run: the log file when it is readable (it is the whole console), else the lines that
 * came as vm.log events. Relative paths resolve against `baseDir`.
 */
export async function loadConsoles(r: RunModel, baseDir: string, maxLines: number): Promise<ConsoleSource> {
  const out: ConsoleSource = new Map();
  for (const v of r.vms.values()) {
    const fromFile = v.consoleLogPath ? await readLogTail(resolve(baseDir, v.consoleLogPath), maxLines) : undefined;
    if (fromFile && fromFile.length) out.set(v.name, { lines: fromFile, from: v.consoleLogPath! });
    else if (v.console.length) out.set(v.name, { lines: v.console.toArray(), from: 'console events' });
  }
  return out;
}
