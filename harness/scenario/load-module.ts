// Scenario files written in TypeScript or JavaScript, for `harness run FILE.ts`: the module's default export is what
// defineScenario returned (taken as it is, validated once) or a plain scenario object (validated as if
// defineScenario had been called in that file). Modules load through tsx, so a .ts file needs no build step and may
// import the library (`import { defineScenario } from 'vm-harness'`) from the project's node_modules.
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScenarioError, type ScenarioIssue } from '../errors.js';
import { defineScenario, definedSource, isDefinedScenario, LOADING_MODULE } from './define.js';
import { loadScenarioFile, type LoadedScenario, type LoadOptions } from './load.js';
import { describeError } from './validate.js';

/** Extensions `harness run` loads as modules; anything else is read as YAML. */
export const MODULE_EXTENSIONS: readonly string[] = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

export const isScenarioModule = (path: string): boolean => MODULE_EXTENSIONS.includes(extname(path).toLowerCase());

/** A scenario file of either kind, told apart by its extension. */
export async function loadScenarioPath(path: string, opts: LoadOptions = {}): Promise<LoadedScenario> {
  return isScenarioModule(path) ? loadScenarioModule(path, opts) : loadScenarioFile(path, opts);
}

export async function loadScenarioModule(path: string, opts: LoadOptions = {}): Promise<LoadedScenario> {
  const file = resolve(path);
  const fail = (expected: string, found: string, extra: Partial<ScenarioIssue> = {}, cause?: unknown) =>
    new ScenarioError([{ file, path: '', expected, found, ...extra }], cause === undefined ? undefined : { cause });
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) throw fail('a readable scenario file', st.code === 'ENOENT' ? 'no such file' : describeError(st));
  if (st.isDirectory()) throw fail('a scenario file', 'a directory');

  let mod: Record<string, unknown>;
  const global = globalThis as { [LOADING_MODULE]?: string };
  const outer = global[LOADING_MODULE];
  global[LOADING_MODULE] = file;
  try {
    const { tsImport } = await import('tsx/esm/api');
    mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
  } catch (e) {
    throw importProblem(e, file);
  } finally {
    global[LOADING_MODULE] = outer;
  }
  // In a CommonJS package tsx compiles the module to CommonJS: its exports object (marked __esModule) arrives as
  // the default export, and `export default` is a property of it.
  const cjs = (mod.default as { __esModule?: unknown } | null | undefined)?.__esModule === true;
  const exports = cjs ? (mod.default as Record<string, unknown>) : mod;
  const value = exports.default;
  if (value === undefined) {
    const names = Object.keys(exports).filter((k) => k !== 'default');
    throw fail('a default export: `export default defineScenario({...})`', names.length ? `no default export (exports: ${names.join(', ')})` : 'no default export');
  }
  if (isDefinedScenario(value)) return { scenario: value, ...definedSource(value) };
  if (typeof value === 'function') throw fail('a scenario as the default export (`export default defineScenario({...})`)', 'a function');
  const scenario = defineScenario(value as Parameters<typeof defineScenario>[0], { file, hostMemoryBytes: opts.hostMemoryBytes });
  return { scenario, ...definedSource(scenario) };
}

/**
 * What went wrong while importing the module, as a ScenarioError (exit 2): a defineScenario inside it that refused
 * its input (thrown by the module's own copy of the harness, so matched by shape, not class), a syntax error with
 * its position, or whatever the module threw.
 */
function importProblem(e: unknown, file: string): ScenarioError {
  if (e instanceof ScenarioError) return e;
  const issues = (e as { name?: unknown; issues?: unknown })?.issues;
  if ((e as Error)?.name === 'ScenarioError' && Array.isArray(issues) && issues.every(isIssue)) return new ScenarioError(issues, { cause: e });
  const message = String((e as Error)?.message ?? '');
  // esbuild (through tsx): "Transform failed with 1 error:\n/path/file.ts:3:14: ERROR: Expected identifier ..."
  const syntax = /^(\/[^\n]*?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (syntax) {
    return new ScenarioError([{ file: syntax[1]!, line: Number(syntax[2]), col: Number(syntax[3]), path: '', expected: 'valid TypeScript', found: `a syntax error: ${syntax[4]}` }], { cause: e });
  }
  return new ScenarioError([{ file, path: '', expected: 'a scenario module that loads', found: `an error while loading it (${describeError(e)})` }], { cause: e });
}

function isIssue(v: unknown): v is ScenarioIssue {
  const i = v as ScenarioIssue;
  return i !== null && typeof i === 'object' && typeof i.file === 'string' && typeof i.path === 'string' && typeof i.expected === 'string' && typeof i.found === 'string';
}
