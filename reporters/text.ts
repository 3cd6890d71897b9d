// Text helpers every reporter shares: make untrusted output (serial consoles, command output) safe to print or
// embed, keep only its tail, and format durations the same way everywhere.

import { redact } from '../harness/redact.js';

// CSI (ESC [ ... final), OSC (ESC ] ... BEL/ST) and two-byte ESC sequences, as terminals and serial consoles emit them.
// eslint-disable-next-line no-control-regex
const ANSI_RE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** Removes terminal escape sequences (colours, cursor moves) from captured output. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI_RE, '');
}

/**
 * Makes captured text printable: strips escape sequences, turns every other C0/C1 control character
 * (except tab and newline; CR is dropped) into a visible `\xNN`, and redacts secrets (harness/redact.ts)
 * before anything reaches a terminal or a report file.
 */
export function cleanText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return redact(stripAnsi(s))
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The last `n` lines of a text (trailing newline ignored). */
export function tailLines(s: string, n: number): string[] {
  const lines = s.replace(/\n$/, '').split('\n');
  return lines.length > n ? lines.slice(lines.length - n) : lines;
}

/** 850ms, 1.2s, 2m05s: short and unambiguous. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const totalS = Math.round(ms / 1000);
  const m = Math.floor(totalS / 60);
  const sec = totalS % 60;
  if (m < 60) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A ring of the last `max` items: keeps memory bounded for long consoles. */
export class Tail<T> {
  private items: T[] = [];
  constructor(private readonly max: number) {}
  push(x: T): void {
    this.items.push(x);
    if (this.items.length > this.max * 2) this.items = this.items.slice(-this.max);
  }
  toArray(): T[] {
    return this.items.length > this.max ? this.items.slice(-this.max) : [...this.items];
  }
  get length(): number {
    return Math.min(this.items.length, this.max);
  }
}
