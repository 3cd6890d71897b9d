// What a step produced. Passed and failed steps have the same shape, so callers never branch on type to read a field.
import type { AssertionFailed } from '../errors.js';
import type { DroppedBytes } from './truncation.js';

export type StepKind = 'run' | 'assert' | 'waitUntil' | 'copyTo' | 'copyFrom';

export interface StepResult {
  index: number;
  name: string;
  /** The machine the step ran on. */
  on: string;
  kind: StepKind;
  status: 'passed' | 'failed';
  durationMs: number;
  /** How many times the check ran (retries under `within` / `waitUntil`); 1 for single-shot steps. */
  attempts: number;
  /** The command last run on the machine, if the step ran one. */
  command: string | undefined;
  exitCode: number | null | undefined;
  /** Last 20 lines / 4 KiB of what the last command printed. */
  stdoutTail: string | undefined;
  stderrTail: string | undefined;
  /** Bytes the output cap dropped from the start of each stream of the last command (undefined when none ran). */
  droppedBytes: DroppedBytes | undefined;
  /** That command's output cap per stream: only the last outputCapBytes bytes of each were kept. */
  outputCapBytes: number | undefined;
  /** Why the step failed, in one message (undefined when it passed). */
  error: string | undefined;
  /** The same failure as a typed error, ready to throw (undefined when it passed). */
  failure: AssertionFailed | undefined;
}

export const TAIL_LINES = 20;
export const TAIL_BYTES = 4096;

/** The last `lines` lines of a text, then at most its last `bytes` bytes. */
export function tailText(text: string, lines = TAIL_LINES, bytes = TAIL_BYTES): string {
  const trimmed = text.endsWith('\n') ? text.slice(0, -1) : text;
  const kept = trimmed.split('\n').slice(-lines).join('\n');
  const buf = Buffer.from(kept, 'utf8');
  if (buf.length <= bytes) return kept;
  let start = buf.length - bytes;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++; // don't start inside a UTF-8 character
  return buf.subarray(start).toString('utf8');
}
