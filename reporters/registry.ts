// Which reporters a run gets: `--reporter terminal,junit:out.xml,html:report.html,json:run.json` or the
// `reporters:` list of harness.config.yaml (`reporters: [terminal, {junit: out.xml}, {html: {path: r.html}}]`).
// A name -> factory registry with typed options per reporter; both sources are validated up front, so a typo
// fails before any VM boots, with the file:line:col (or the flag) and the known names.
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { z } from 'zod';
import type { ScenarioIssue } from '../harness/errors.js';
import type { Subscriber } from '../harness/events.js';
import { describeValue } from '../harness/scenario/describe-value.js';
import { ConfigError, configFilePath, parseConfigDocument, readConfigText } from './config-file.js';
import { createHtmlReporter } from './html.js';
import { JsonReporter } from './json.js';
import { createJunitReporter } from './junit.js';
import { createTerminalReporter } from './terminal.js';

/** What the factories need from the caller: where relative paths resolve, and the terminal. */
export interface ReporterContext {
  /** Relative output paths from the command line resolve here (config-file paths resolve against the file's folder). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The one terminal stream (only the terminal reporter writes to it). */
  stream: { write(s: string): unknown };
  isTTY: boolean;
  columns?: number;
  /** command_logs lines kept per VM, for a `sqlite` reporter (see log-lines.ts; default 500). */
  logLines?: number;
}

/** A validated reporter choice: the name, its parsed options, and where it was written (for later errors). */
export interface ReporterSpec {
  name: ReporterName;
  options: Record<string, unknown>;
  /** Folder relative paths in `options` resolve against. Undefined: ReporterContext.cwd. */
  baseDir?: string;
  source: string;
}

/** A bad --reporter value or reporters: list (exit 2, like any invalid input). */
export class ReporterConfigError extends ConfigError {}

export { configFilePath };

const positiveInt = z.number('a positive whole number').int('a positive whole number').positive('a positive whole number');
const pathOption = (fallback: string) => z.string('a file path').min(1, 'a file path').default(fallback);

interface ReporterDefinition<S extends z.ZodType<Record<string, unknown>>> {
  summary: string;
  /** The option a bare string sets (`junit: out.xml` = `junit: {path: out.xml}`); none = the reporter takes no string. */
  shorthand?: 'path';
  options: S;
  /** The file the reporter writes, if any (recorded as a `report` artifact of the run). */
  output?(options: z.output<S>, baseDir: string): string;
  create(options: z.output<S>, ctx: ReporterContext, baseDir: string): Subscriber | Promise<Subscriber>;
}

function define<S extends z.ZodType<Record<string, unknown>>>(d: ReporterDefinition<S>): ReporterDefinition<S> {
  return d;
}

/** The registry: add a reporter by adding an entry. */
export const reporters = {
  terminal: define({
    summary: 'live progress per VM and a summary (colours and a status line on a TTY)',
    options: z.strictObject({ color: z.boolean('true or false').optional(), tailLines: positiveInt.optional() }),
    create: (o, ctx) => createTerminalReporter({ stream: ctx.stream, isTTY: ctx.isTTY, env: ctx.env, columns: ctx.columns, color: o.color, tailLines: o.tailLines }),
  }),
  junit: define({
    summary: 'JUnit XML for CI (one testsuite per scenario, one testcase per step)',
    shorthand: 'path',
    options: z.strictObject({ path: pathOption('junit.xml'), consoleLines: positiveInt.optional(), tailLines: positiveInt.optional() }),
    output: (o, base) => resolve(base, o.path),
    create: (o, ctx, base) => createJunitReporter({ ...o, path: resolve(base, o.path), baseDir: ctx.cwd }),
  }),
  html: define({
    summary: 'one self-contained HTML page: timeline, steps, console logs',
    shorthand: 'path',
    options: z.strictObject({ path: pathOption('report.html'), consoleLines: positiveInt.optional(), tailLines: positiveInt.optional() }),
    output: (o, base) => resolve(base, o.path),
    create: (o, ctx, base) => createHtmlReporter({ ...o, path: resolve(base, o.path), baseDir: ctx.cwd }),
  }),
  json: define({
    summary: 'the run report as JSON (what `harness runs show --json` prints)',
    shorthand: 'path',
    options: z.strictObject({ path: pathOption('run.json') }),
    output: (o, base) => resolve(base, o.path),
    create: (o, _ctx, base) => new JsonReporter(resolve(base, o.path)),
  }),
  sqlite: define({
    summary: 'the run record in SQLite (default: HARNESS_DB or vms/harness.db)',
    shorthand: 'path',
    options: z.strictObject({ path: z.string('a file path').min(1, 'a file path').optional() }),
    create: async (o, ctx, base) => {
      // Loaded lazily: only runs that record pay for opening the native SQLite module.
      const { SqliteRecorder } = await import('./sqlite-recorder.js');
      const { resolveDbPath } = await import('../harness/store/db.js');
      const path = o.path ? resolve(base, o.path) : resolveDbPath(undefined, ctx.env, ctx.cwd);
      return SqliteRecorder.open(path, ctx.logLines !== undefined ? { logCapPerVm: ctx.logLines } : {});
    },
  }),
};

export type ReporterName = keyof typeof reporters;
export const reporterNames = Object.keys(reporters) as ReporterName[];

/** Where in the input a value sits, for issues. */
interface Where {
  file: string;
  line?: number;
  col?: number;
  path: string;
}

/** Validates one entry (name plus a string shorthand or an options map) into a spec, or returns issues. */
function checkEntry(
  name: string,
  raw: unknown,
  where: Where,
  locate: (sub: (string | number)[], at: 'key' | 'value') => Partial<Where>,
): ReporterSpec | ScenarioIssue[] {
  if (!Object.hasOwn(reporters, name)) {
    return [{ ...where, expected: `a reporter name: one of ${reporterNames.join(', ')}`, found: `"${name}"` }];
  }
  const def = reporters[name as ReporterName] as ReporterDefinition<z.ZodType<Record<string, unknown>>>;
  let input: unknown = raw ?? {};
  if (typeof raw === 'string') {
    if (!def.shorthand) return [{ ...where, expected: `no value (${name} takes no file; use a map of options)`, found: describeValue(raw) }];
    input = { [def.shorthand]: raw };
  }
  const parsed = def.options.safeParse(input);
  if (parsed.success) return { name: name as ReporterName, options: parsed.data, source: where.file };
  return parsed.error.issues.map((i) => {
    const sub = typeof raw === 'string' ? [] : i.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const found = sub.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined), input);
    const unknownKey = i.code === 'unrecognized_keys' && typeof raw !== 'string' ? i.keys[0] : undefined;
    return {
      ...where,
      ...(unknownKey !== undefined ? locate([...sub, unknownKey], 'key') : locate(sub, 'value')),
      path: [where.path, ...sub].join('.'),
      expected: i.code === 'unrecognized_keys' ? `only the options ${Object.keys((def.options as unknown as z.ZodObject).shape).join(', ')}` : i.message,
      found: i.code === 'unrecognized_keys' ? `${i.keys.join(', ')}` : describeValue(typeof raw === 'string' ? raw : found),
    };
  });
}

/** Parses `--reporter` values (comma-separated, the flag may repeat): `name` or `name:path`. */
export function parseReporterFlag(values: string | string[]): ReporterSpec[] {
  const specs: ReporterSpec[] = [];
  const issues: ScenarioIssue[] = [];
  const entries = (Array.isArray(values) ? values : [values]).flatMap((v) => v.split(','));
  entries.forEach((entry, i) => {
    const text = entry.trim();
    const where: Where = { file: '--reporter', path: `reporters[${i}]` };
    if (!text) {
      issues.push({ ...where, expected: 'a reporter such as terminal or junit:out.xml', found: 'an empty entry' });
      return;
    }
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? undefined : text.slice(colon + 1);
    const r = checkEntry(name, value, where, () => ({}));
    if (Array.isArray(r)) issues.push(...r);
    else specs.push(r);
  });
  if (issues.length) throw new ReporterConfigError(issues);
  return specs;
}

/**
 * Reads the `reporters:` list of a config file. Undefined when the file or the key is absent (use the default);
 * throws ReporterConfigError naming file:line:col for a YAML error, a wrong shape, an unknown name or a bad option.
 * Other top-level keys belong to other parts of the harness and are left alone.
 */
export async function loadReporterConfig(file: string): Promise<ReporterSpec[] | undefined> {
  const text = await readConfigText(file);
  return text === undefined ? undefined : parseReporterConfig(text, file);
}

/** `loadReporterConfig` on text already read (tests, and callers that read the file themselves). */
export function parseReporterConfig(text: string, file: string): ReporterSpec[] | undefined {
  const doc = parseConfigDocument(text, file, (issues) => new ReporterConfigError(issues));
  const entry = doc?.entry('reporters');
  if (!doc || !entry) return undefined;
  const { at } = doc;
  const list = entry.node;
  if (!isSeq(list)) {
    throw new ReporterConfigError([{ file, ...at(['reporters']), path: 'reporters', expected: 'a list such as [terminal, {junit: out.xml}]', found: describeValue((list as Node | null)?.toJSON?.() ?? null) }]);
  }
  const specs: ReporterSpec[] = [];
  const issues: ScenarioIssue[] = [];
  const baseDir = dirname(resolve(file));
  list.items.forEach((item, i) => {
    const here = (sub: (string | number)[]) => ({ file, ...at(['reporters', i, ...sub], sub.length ? 'key' : 'value') });
    let name: string;
    let raw: unknown;
    let prefix: (string | number)[] = [];
    if (isScalar(item) && typeof item.value === 'string') {
      // `- terminal` or the flag form `- junit:out.xml` (YAML reads that as one string).
      const colon = item.value.indexOf(':');
      name = colon < 0 ? item.value : item.value.slice(0, colon);
      raw = colon < 0 ? undefined : item.value.slice(colon + 1);
    } else if (isMap(item) && item.items.length === 1 && isScalar((item.items[0] as Pair).key)) {
      const p = item.items[0] as Pair;
      name = String((p.key as { value: unknown }).value);
      raw = (p.value as Node | null)?.toJSON?.() ?? undefined;
      prefix = [name];
    } else {
      issues.push({ ...here([]), path: `reporters[${i}]`, expected: 'a reporter name or a one-key map such as {junit: out.xml}', found: describeValue((item as Node | null)?.toJSON?.() ?? null) });
      return;
    }
    const r = checkEntry(name, raw, { ...here(prefix), path: `reporters[${i}]${prefix.length ? `.${name}` : ''}` }, (sub, w) => at(['reporters', i, ...prefix, ...sub], w));
    if (Array.isArray(r)) issues.push(...r);
    else specs.push({ ...r, baseDir, source: `${file}:${here([]).line}` });
  });
  if (issues.length) throw new ReporterConfigError(issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)));
  return specs;
}

/** Builds the subscribers for validated specs. If one fails to build, the ones already built are closed. */
export async function createReporters(specs: ReporterSpec[], ctx: ReporterContext): Promise<Subscriber[]> {
  const built: Subscriber[] = [];
  try {
    for (const s of specs) {
      const def = reporters[s.name] as ReporterDefinition<z.ZodType<Record<string, unknown>>>;
      built.push(await def.create(s.options, ctx, s.baseDir ?? ctx.cwd));
    }
    return built;
  } catch (e) {
    for (const b of built) await Promise.resolve(b.close?.()).catch(() => undefined);
    throw e;
  }
}

/**
 * The reporters for a run: the --reporter flag when given, else the config file's list, else the terminal alone.
 * `configFile` defaults to harness.config.yaml in ctx.cwd.
 */
export async function resolveReporters(o: { flag?: string | string[]; configFile?: string; ctx: ReporterContext }): Promise<Subscriber[]> {
  return createReporters(await resolveReporterSpecs(o), o.ctx);
}

/** The validated choice `resolveReporters` builds: the flag's, else the config file's, else the terminal alone. */
export async function resolveReporterSpecs(o: { flag?: string | string[]; configFile?: string; ctx: { cwd: string } }): Promise<ReporterSpec[]> {
  const fromFlag = o.flag !== undefined && (Array.isArray(o.flag) ? o.flag.length > 0 : true) ? parseReporterFlag(o.flag) : undefined;
  return fromFlag ?? (await loadReporterConfig(o.configFile ?? configFilePath(o.ctx.cwd))) ?? parseReporterFlag('terminal');
}

/** The absolute path of the file a spec's reporter writes (junit, html, json), or undefined (terminal, sqlite). */
export function reportFileOf(spec: ReporterSpec, ctx: { cwd: string }): string | undefined {
  const def = reporters[spec.name] as ReporterDefinition<z.ZodType<Record<string, unknown>>>;
  return def.output?.(spec.options, spec.baseDir ?? ctx.cwd);
}

/** One line per reporter, for --help texts. */
export function reporterHelp(): string {
  return reporterNames.map((n) => `  ${n.padEnd(9)} ${reporters[n].summary}${'shorthand' in reporters[n] ? ` (${n}:FILE)` : ''}`).join('\n');
}
