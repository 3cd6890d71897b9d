// Scenarios written in TypeScript: `export default defineScenario({...})`. Same schema and rules as YAML files;
// errors name the caller's file and the line of the defineScenario call (there is no finer position in an object).
// What defineScenario returns is already validated and normalised (durations in ms, sizes in bytes), and it is
// marked so: useScenario and `harness run file.ts` take it as it is instead of validating the output again (a
// second pass would read the 180000 ms default boot timeout as 180000 seconds).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedLocator } from './issue.js';
import type { Scenario, ScenarioInput } from './schema.js';
import { validateScenarioData, type ValidateOptions } from './validate.js';

export interface DefineOptions extends ValidateOptions {
  /** The file to name in errors and to resolve relative paths against; default: the caller's file. */
  file?: string;
  /** The line and column in `file` to name in errors (a wrapper passes its own caller's). */
  line?: number;
  col?: number;
  /** Directory relative paths resolve against; default: the file's directory, else the working directory. */
  dir?: string;
}

export const UNKNOWN_CALLER = '<defineScenario>';

/** Where a defined scenario came from: the file errors name and the directory its relative paths resolved against. */
export interface DefinedSource {
  file: string;
  dir: string;
}

/**
 * The mark on a defined scenario. A registered symbol, so that a scenario defined through one copy of this module
 * (a user's scenario.ts loaded through tsx) is recognised by another (the bundled CLI).
 */
export const DEFINED: unique symbol = Symbol.for('vm-harness.defined-scenario');

/** A validated scenario, as defineScenario returns it. Pass it on as it is: a copy (`{...s}`) loses the mark. */
export type DefinedScenario = Scenario & { readonly [DEFINED]: DefinedSource };

/**
 * Set by `harness run` while it imports a scenario module: the file to name when the caller's frame cannot be read
 * (tsx runs a .ts file of a CommonJS package from a data: URL, so its frames name no file).
 */
export const LOADING_MODULE: unique symbol = Symbol.for('vm-harness.loading-scenario-module');

export function defineScenario(input: ScenarioInput, opts: DefineOptions = {}): DefinedScenario {
  const site = opts.file !== undefined ? { file: opts.file, line: opts.line, col: opts.col } : (callerSite() ?? loadingModule());
  const file = site?.file ?? UNKNOWN_CALLER;
  const dir = opts.dir ?? (file !== UNKNOWN_CALLER ? dirname(file) : process.cwd());
  const scenario = validateScenarioData(input, {
    file,
    dir,
    locator: fixedLocator({ line: site?.line, col: site?.col }),
    hostMemoryBytes: opts.hostMemoryBytes,
  });
  // Not enumerable: equality checks, JSON and spreads see the plain scenario.
  return Object.defineProperty(scenario, DEFINED, { value: { file, dir } satisfies DefinedSource, enumerable: false }) as DefinedScenario;
}

function loadingModule(): { file: string; line?: number; col?: number } | undefined {
  const file = (globalThis as { [LOADING_MODULE]?: unknown })[LOADING_MODULE];
  return typeof file === 'string' ? { file } : undefined;
}

/** True for what defineScenario returned (from any copy of this module); false for raw input. */
export function isDefinedScenario(v: unknown): v is DefinedScenario {
  if (v === null || typeof v !== 'object') return false;
  const src = (v as { [DEFINED]?: unknown })[DEFINED];
  return src !== null && typeof src === 'object' && typeof (src as DefinedSource).file === 'string' && typeof (src as DefinedSource).dir === 'string';
}

/** The file and directory a defined scenario was validated with. */
export function definedSource(s: DefinedScenario): DefinedSource {
  return s[DEFINED];
}

/**
 * The first stack frame outside this module and outside `skip` (file: URLs or paths of wrappers such as the vitest
 * fixture, so that the site named is their caller's): where defineScenario was called from.
 */
export function callerSite(skip: readonly string[] = []): { file: string; line?: number; col?: number } | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const here = import.meta.url;
  const skipped = new Set(skip.map((s) => (s.startsWith('file://') ? s : `file://${s}`)));
  for (const frame of stack) {
    // Past Node's own frames (a module loader) lies whoever loaded the caller, not the caller.
    if (/(?:\(|at (?:async )?)node:/.test(frame)) break;
    // `at fn (/path/file.ts:1:2)` or `at file:///path/file.ts:1:2`; never node:internal/... or data: frames.
    const m = /(?:\(|at (?:async )?)((?:file:\/\/)?\/[^():]+(?:\.[cm]?[jt]sx?)?):(\d+):(\d+)\)?\s*$/.exec(frame);
    if (!m) continue;
    const raw = m[1]!;
    const url = raw.startsWith('file://') ? raw : `file://${raw}`;
    if (url === here || skipped.has(url.replace(/\?.*$/, '')) || /\/scenario\/(define|validate)\.[jt]s$/.test(raw)) continue;
    try {
      return { file: raw.startsWith('file://') ? fileURLToPath(raw) : raw, line: Number(m[2]), col: Number(m[3]) };
    } catch {
      return { file: raw };
    }
  }
  return undefined;
}
