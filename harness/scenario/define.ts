// Scenarios written in TypeScript: `export default defineScenario({...})`. Same schema and rules as YAML files;
// errors name the caller's file and the line of the defineScenario call (there is no finer position in an object).
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixedLocator } from './issue.js';
import type { Scenario, ScenarioInput } from './schema.js';
import { validateScenarioData, type ValidateOptions } from './validate.js';

export interface DefineOptions extends ValidateOptions {
  /** The file to name in errors and to resolve relative paths against; default: the caller's file. */
  file?: string;
  /** Directory relative paths resolve against; default: the file's directory, else the working directory. */
  dir?: string;
}

export const UNKNOWN_CALLER = '<defineScenario>';

export function defineScenario(input: ScenarioInput, opts: DefineOptions = {}): Scenario {
  const site = opts.file !== undefined ? { file: opts.file } : callerSite();
  const file = site?.file ?? UNKNOWN_CALLER;
  const dir = opts.dir ?? (file !== UNKNOWN_CALLER ? dirname(file) : process.cwd());
  return validateScenarioData(input, {
    file,
    dir,
    locator: fixedLocator({ line: site?.line, col: site?.col }),
    hostMemoryBytes: opts.hostMemoryBytes,
  });
}

/** The first stack frame outside this module: where defineScenario was called from. */
export function callerSite(): { file: string; line?: number; col?: number } | undefined {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const here = import.meta.url;
  for (const frame of stack) {
    const m = /\(?((?:file:\/\/)?\/[^():]+(?:\.[cm]?[jt]sx?)?):(\d+):(\d+)\)?\s*$/.exec(frame);
    if (!m) continue;
    const raw = m[1]!;
    const url = raw.startsWith('file://') ? raw : `file://${raw}`;
    if (url === here || /\/scenario\/(define|validate)\.[jt]s$/.test(raw)) continue;
    try {
      return { file: raw.startsWith('file://') ? fileURLToPath(raw) : raw, line: Number(m[2]), col: Number(m[3]) };
    } catch {
      return { file: raw };
    }
  }
  return undefined;
}
