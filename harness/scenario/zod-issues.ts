// Turns zod's issues into RawIssues a person can act on: every message says what was expected, unknown keys
// list the allowed ones, and a failed union of maps reports the branch the input meant (the one whose
// discriminating key it has: run | assert | ... or builder: tiny | ...) instead of zod's "invalid union".
//
// zod computes messages while it still holds the schema (issue.inst), and drops the schema afterwards. So the error
// map below answers in two ways: a plain "expected" text, or a structured hint for flattenZodIssues, marked with
// HINT as the first character (a union branch to descend into, or the allowed keys of a strict map).
import { z } from 'zod';
import { describeValue } from './describe-value.js';
import type { IssuePath, RawIssue } from './issue.js';

const HINT = '\u0000';
type Hint = { branch: number } | { allowedKeys: string[] } | { atKey: string; expected: string };

type AnySchema = z.core.$ZodType;
type ZodIssue = z.core.$ZodIssue;

/** Pass as `error` to safeParse: phrases every issue zod raises as "what was expected". */
export const expectedErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      return expectedType(iss.expected, iss.input);
    case 'too_small':
      return bound(iss.origin, 'min', iss.minimum, iss.inclusive);
    case 'too_big':
      return bound(iss.origin, 'max', iss.maximum, iss.inclusive);
    case 'invalid_format':
      return iss.format === 'regex' && iss.pattern ? `a string matching ${iss.pattern}` : `a valid ${iss.format}`;
    case 'not_multiple_of':
      return `a multiple of ${String(iss.divisor)}`;
    case 'unrecognized_keys':
      return hint({ allowedKeys: objectKeys(iss.inst) });
    case 'invalid_value':
      return iss.values.length === 1 ? JSON.stringify(iss.values[0]) : `one of ${iss.values.map(String).join(' | ')}`;
    case 'invalid_key':
      return iss.issues[0]?.message ?? 'a valid key';
    case 'invalid_union':
      return unionMessage(iss.inst, iss.input);
    case 'invalid_element':
      return 'a valid element';
    default:
      return undefined;
  }
};

/** Flattens zod issues (descending into the chosen union branch) into RawIssues; `data` is the parsed input. */
export function flattenZodIssues(issues: readonly ZodIssue[], data: unknown, base: IssuePath = []): RawIssue[] {
  const out: RawIssue[] = [];
  for (const iss of issues) {
    const path = [...base, ...iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    const h = readHint(iss.message);
    if (iss.code === 'invalid_union' && h && 'branch' in h && iss.errors[h.branch]) {
      out.push(...flattenZodIssues(iss.errors[h.branch]!, data, path));
    } else if (h && 'atKey' in h) {
      const at = [...path, h.atKey];
      out.push({ path: at, expected: h.expected, found: describeValue(valueAt(data, at)) });
    } else if (iss.code === 'unrecognized_keys') {
      const allowed = h && 'allowedKeys' in h ? h.allowedKeys : [];
      for (const key of iss.keys) {
        out.push({ path: [...path, key], at: 'key', expected: allowedKeysText(allowed, key), found: `unknown key ${JSON.stringify(key)}` });
      }
    } else if (iss.code === 'invalid_key') {
      out.push({ path, at: 'key', expected: iss.message, found: `the name ${JSON.stringify(String(path[path.length - 1]))}` });
    } else {
      out.push({ path, expected: h ? 'a valid value' : iss.message, found: describeValue(valueAt(data, path)) });
    }
  }
  return out;
}

function allowedKeysText(allowed: string[], key: string): string {
  if (allowed.length === 0) return 'no extra keys here';
  const near = closest(key, allowed);
  return `one of the keys ${allowed.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`;
}

/** Reads the value at a path in plain data; undefined when the path leaves the data. */
export function valueAt(data: unknown, path: IssuePath): unknown {
  let cur: unknown = data;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, p) ? (cur as Record<string | number, unknown>)[p] : undefined;
  }
  return cur;
}

function hint(h: Hint): string {
  return HINT + JSON.stringify(h);
}

function readHint(message: string): Hint | undefined {
  if (!message.startsWith(HINT)) return undefined;
  try {
    return JSON.parse(message.slice(1)) as Hint;
  } catch {
    return undefined;
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map (key: value)',
  record: 'a map (key: value)',
  array: 'a list',
  bigint: 'a number',
  date: 'a date',
  null: 'null',
};

function expectedType(expected: string, input: unknown): string {
  const name = TYPE_NAMES[expected] ?? `a ${expected}`;
  if (input === undefined) return `${name} (this field is required)`;
  if (typeof input === 'number' && !Number.isFinite(input)) return `a finite ${expected === 'int' ? 'whole number' : 'number'}`;
  return name;
}

function bound(origin: string, kind: 'min' | 'max', limit: unknown, inclusive = true): string {
  const n = Number(limit);
  if (origin === 'string') {
    if (kind === 'min') return n <= 1 ? 'a non-empty string' : `a string of at least ${n} characters`;
    return `a string of at most ${n} characters`;
  }
  if (origin === 'array' || origin === 'set') {
    if (kind === 'min') return n <= 1 ? 'a list with at least one item' : `a list of at least ${n} items`;
    return `a list of at most ${n} items`;
  }
  if (kind === 'min') return inclusive ? `a number of at least ${n}` : `a number greater than ${n}`;
  return inclusive ? `a number of at most ${n}` : `a number less than ${n}`;
}

/** The keys a strict map allows, read from the object schema that raised the issue. */
function objectKeys(inst: unknown): string[] {
  const shape = defOf(inst)?.shape as Record<string, unknown> | undefined;
  return shape ? Object.keys(shape) : [];
}

// ---- unions ------------------------------------------------------------------------------------------------

/** How one branch of a union is recognised: a required key (and for literals, its values), or a primitive type. */
interface BranchKey {
  key?: string;
  values?: unknown[];
  type: string;
  /** Every key the branch allows (object branches). */
  keys?: string[];
}

const branchCache = new WeakMap<object, BranchKey[]>();

function unionMessage(inst: unknown, input: unknown): string {
  const branches = unionBranches(inst);
  if (!branches) return 'a valid value';
  const described = inst ? z.globalRegistry.get(inst as AnySchema)?.description : undefined;
  const summary = described ?? summarise(branches);
  if (isPlainMap(input)) {
    const matches = branches
      .map((b, i) => ({ b, i }))
      .filter(({ b }) => b.key !== undefined && Object.prototype.hasOwnProperty.call(input, b.key) && (!b.values || b.values.includes((input as Record<string, unknown>)[b.key])));
    if (matches.length === 1) return hint({ branch: matches[0]!.i });
    if (matches.length > 1) {
      const keys = [...new Set(matches.map(({ b }) => b.key!))];
      if (keys.length > 1) return `only one of the keys ${keys.join(' | ')} (found ${keys.join(' and ')})`;
    }
    // `builder: ubuntu`: the key is right, its value isn't; point at the value.
    const literal = branches.find((b) => b.values && b.key !== undefined && Object.prototype.hasOwnProperty.call(input, b.key));
    if (literal) {
      const values = branches.filter((b) => b.key === literal.key).flatMap((b) => b.values ?? []);
      const others = [...new Set(branches.filter((b) => b.key !== undefined && b.key !== literal.key).map((b) => b.key!))];
      return hint({ atKey: literal.key!, expected: `one of ${values.map(String).join(' | ')}${others.length ? ` (or, instead of ${literal.key}, the key ${others.join(' | ')})` : ''}` });
    }
    const known = new Set(branches.flatMap((b) => b.keys ?? []));
    const keys = branches.map((b) => b.key).filter((k): k is string => k !== undefined);
    const near = Object.keys(input).filter((k) => !known.has(k)).map((k) => closest(k, keys)).find(Boolean);
    return near ? `${summary} (did you mean "${near}"?)` : summary;
  }
  const byType = branches.map((b, i) => ({ b, i })).filter(({ b }) => b.type === primitiveType(input));
  if (byType.length === 1) return hint({ branch: byType[0]!.i });
  return summary;
}

function summarise(branches: BranchKey[]): string {
  const literalGroups = new Map<string, unknown[]>();
  const plainKeys: string[] = [];
  const types: string[] = [];
  for (const b of branches) {
    if (b.key !== undefined && b.values) literalGroups.set(b.key, [...(literalGroups.get(b.key) ?? []), ...b.values]);
    else if (b.key !== undefined) plainKeys.push(b.key);
    else if (b.type !== 'object') types.push(TYPE_NAMES[b.type] ?? b.type);
  }
  const parts = [...literalGroups].map(([k, vs]) => `${k}: ${vs.map(String).join(' | ')}`);
  if (plainKeys.length === 1) parts.push(`the key ${plainKeys[0]}`);
  if (plainKeys.length > 1) parts.push(`one of the keys ${plainKeys.join(' | ')}`);
  const maps = parts.length ? [`a map with ${parts.join(', or ')}`] : [];
  return [...types, ...maps].join(' or ') || 'a valid value';
}

/** Works out, once per union schema, which key or type identifies each branch. */
function unionBranches(inst: unknown): BranchKey[] | undefined {
  if (!inst || typeof inst !== 'object') return undefined;
  const cached = branchCache.get(inst);
  if (cached) return cached;
  const options = defOf(inst)?.options as unknown[] | undefined;
  if (!Array.isArray(options)) return undefined;
  const shapes = options.map((o) => objectShape(o));
  const required = shapes.map((s) => (s ? Object.keys(s).filter((k) => !isOptional(s[k])) : []));
  const objectCount = shapes.filter(Boolean).length;
  const branches = options.map((o, i): BranchKey => {
    const shape = shapes[i];
    if (!shape) return { type: String(defOf(unwrap(o))?.type ?? 'unknown') };
    const own = required[i]!.filter((k) => required.filter((r) => r.includes(k)).length < objectCount);
    const literal = own.find((k) => defOf(unwrap(shape[k]))?.type === 'literal');
    const keys = Object.keys(shape);
    if (literal) return { key: literal, values: (defOf(unwrap(shape[literal]))?.values as unknown[]) ?? [], type: 'object', keys };
    return own[0] !== undefined ? { key: own[0], type: 'object', keys } : { type: 'object', keys };
  });
  branchCache.set(inst, branches);
  return branches;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  const def = defOf(unwrap(schema));
  return def?.type === 'object' ? (def.shape as Record<string, unknown>) : undefined;
}

/** Looks through wrappers that don't change what the input must look like. */
function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(s);
    if (!def) return s;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'nullable' || def.type === 'readonly') s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else return s;
  }
  return s;
}

function isOptional(schema: unknown): boolean {
  return (schema as { _zod?: { optin?: string } })?._zod?.optin !== undefined;
}

function defOf(schema: unknown): Record<string, unknown> & { type?: string } | undefined {
  return (schema as { _zod?: { def?: Record<string, unknown> & { type?: string } } })?._zod?.def;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function primitiveType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** The allowed key closest to a misspelt one (edit distance at most 2, or a case-only difference). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.min(2, Math.floor(word.length / 2)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
