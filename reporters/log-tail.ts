// Reads the tail of each VM's console log file (the qemu serial log named by `artifact` events) when a report is
// written, so file-based reports embed the console without the run having streamed it line by line.
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RunModel } from './run-model.js';

/** Console text per VM name, and where it came from. */
export type ConsoleSource = Map<string, { lines: string[]; from: string }>;

/** The last `maxLines` lines within the last `maxBytes` of a file (a cut first line dropped); undefined if unreadable. */
export async function readLogTail(path: string, maxLines: number, maxBytes = 256 * 1024): Promise<string[] | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let lines = buf.toString('utf8').split(/\r?\n/);
    if (start > 0) lines = lines.slice(1);
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-maxLines);
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
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
