// One look at a machine for each assertion kind: runs a probe command and says whether the assertion holds,
// with a sentence describing what was seen. Retrying is the caller's business (runStep, RunningVm waits).
import type { Assertion, Matcher } from '../scenario/schema.js';
import type { ExecResult, Target } from '../targets/target.js';
import {
  fileContentCommand,
  fileExistsCommand,
  findProcesses,
  LISTENING_PORTS_COMMAND,
  parseListeningPorts,
  parseProcessList,
  PROCESS_LIST_COMMAND,
} from './guest-probes.js';
import { describeMatcher, matches } from './matchers.js';

export interface Observation {
  ok: boolean;
  /** What was expected and what was found, e.g. "port 8080 is not listening on web (listening: 22)". */
  summary: string;
  /** The probe command and what it printed. */
  result: ExecResult;
}

export interface CheckOptions {
  timeoutMs?: number;
  /** Kills the probe on abort; the check then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Checks one assertion once. */
export function checkAssertion(target: Target, a: Assertion, o: CheckOptions = {}): Promise<Observation> {
  if ('port' in a) return checkPort(target, a.port, o);
  if ('file' in a) return checkFile(target, a.file, a.contains, o);
  if ('process' in a) return checkProcess(target, a.process, o);
  return checkCommand(target, a.command, o);
}

export async function checkPort(target: Target, port: number, o: CheckOptions = {}): Promise<Observation> {
  const result = await target.exec(LISTENING_PORTS_COMMAND, { timeoutMs: o.timeoutMs, signal: o.signal });
  if (result.timedOut) return { ok: false, summary: `could not list listening ports on ${target.name}: ${timedOut(result)}`, result };
  const listening = parseListeningPorts(result.stdout);
  const ok = listening.has(port);
  const seen = [...listening].sort((x, y) => x - y).join(', ') || 'none';
  return { ok, summary: ok ? `port ${port} is listening on ${target.name}` : `port ${port} is not listening on ${target.name} (listening: ${seen})`, result };
}

export async function checkFile(target: Target, path: string, contains: Matcher | undefined, o: CheckOptions = {}): Promise<Observation> {
  const result = await target.exec(contains ? fileContentCommand(path) : fileExistsCommand(path), { timeoutMs: o.timeoutMs, signal: o.signal });
  if (result.exitCode !== 0) {
    return { ok: false, summary: `file ${path} does not exist or cannot be read on ${target.name} (${exitDescription(result)})`, result };
  }
  if (!contains) return { ok: true, summary: `file ${path} exists on ${target.name}`, result };
  const ok = matches(contains, result.stdout);
  return { ok, summary: `file ${path} on ${target.name} ${ok ? 'does' : 'does not'} ${describeMatcher(contains)}`, result };
}

export async function checkProcess(target: Target, name: string, o: CheckOptions = {}): Promise<Observation> {
  const result = await target.exec(PROCESS_LIST_COMMAND, { timeoutMs: o.timeoutMs, signal: o.signal });
  if (result.timedOut) return { ok: false, summary: `could not list processes on ${target.name}: ${timedOut(result)}`, result };
  const list = parseProcessList(result.stdout);
  const found = findProcesses(list, name);
  if (found.length > 0) return { ok: true, summary: `process ${name} runs on ${target.name} (pid ${found.map((p) => p.pid).join(', ')})`, result };
  // Kernel threads (empty command line) would crowd out the names worth reading.
  const names = [...new Set(list.filter((p) => p.cmdline !== '').map((p) => p.comm))].sort();
  const seen = names.slice(0, 60).join(', ') + (names.length > 60 ? `, ... (${names.length} names)` : '');
  return { ok: false, summary: `no process named ${name} on ${target.name} (seen: ${seen || 'none'})`, result };
}

export async function checkCommand(target: Target, command: string, o: CheckOptions = {}): Promise<Observation> {
  const result = await target.exec(command, { timeoutMs: o.timeoutMs, signal: o.signal });
  const ok = result.exitCode === 0;
  return { ok, summary: ok ? `command succeeded on ${target.name}` : `command failed on ${target.name}: ${exitDescription(result)}, expected exit code 0`, result };
}

export function exitDescription(r: ExecResult): string {
  if (r.timedOut) return timedOut(r);
  if (r.signal) return `killed by signal ${r.signal}`;
  return `exit code ${r.exitCode}`;
}

function timedOut(r: ExecResult): string {
  return `timed out after ${r.durationMs} ms and was killed`;
}
