// One problem found in a scenario before it has a position: producers (zod mapping, rules, YAML checks) create
// RawIssues with a field path; a Locator turns the path into line:col of the file the scenario came from.
import { type ScenarioIssue } from '../errors.js';

export type IssuePath = readonly (string | number)[];

export interface RawIssue {
  path: IssuePath;
  expected: string;
  found: string;
  /** Point at the key of the last path element (unknown keys, bad map keys) rather than its value. */
  at?: 'key' | 'value';
  /** A position already known (YAML syntax errors come with one). */
  offset?: number;
}

export interface Position {
  line?: number;
  col?: number;
}

/** Maps a field path (or a source offset) to a position in the scenario source. */
export interface Locator {
  locate(path: IssuePath, at: 'key' | 'value'): Position;
  locateOffset(offset: number): Position;
}

/** A locator for sources without positions (defineScenario can only name its call site). */
export function fixedLocator(pos: Position): Locator {
  return { locate: () => pos, locateOffset: () => pos };
}

/** `vms.server.memory`, `steps[1].on`, `vms["my vm"]`. */
export function formatPath(path: IssuePath): string {
  if (path.length > 16) return `${formatPath(path.slice(0, 8))}…(${path.length - 12} more levels)…${formatPath(path.slice(-4)).replace(/^(?=[^[])/, '.')}`;
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p.length > 40 ? `${p.slice(0, 39)}…` : p)}]`;
  }
  return out;
}

/** At most this many issues are listed; a last line says how many more there were. */
export const MAX_ISSUES = 50;

/** Positions, dedupes, orders by position and caps the list. */
export function toScenarioIssues(raw: RawIssue[], file: string, locator: Locator): ScenarioIssue[] {
  const seen = new Set<string>();
  const out: ScenarioIssue[] = [];
  for (const r of raw) {
    const path = formatPath(r.path);
    const key = `${path}\0${r.expected}\0${r.found}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = r.offset !== undefined ? locator.locateOffset(r.offset) : locator.locate(r.path, r.at ?? 'value');
    out.push({ file, ...definedOnly(pos), path, expected: r.expected, found: r.found });
  }
  out.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.col ?? 0) - (b.col ?? 0));
  if (out.length <= MAX_ISSUES) return out;
  const rest = out.length - (MAX_ISSUES - 1);
  return [...out.slice(0, MAX_ISSUES - 1), { file, path: '', expected: 'fewer problems', found: `${rest} more issues not shown; fix the ones above first` }];
}

function definedOnly(pos: Position): Position {
  const out: Position = {};
  if (pos.line !== undefined) out.line = pos.line;
  if (pos.col !== undefined) out.col = pos.col;
  return out;
}
