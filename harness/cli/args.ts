// Thin wrapper over node:util parseArgs that turns its errors into UsageError (exit 2 with usage).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.js';
import { parseDurationMs, DURATION_RE } from '../scenario/units.js';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function durationFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!DURATION_RE.test(v)) throw new UsageError(`--${name}: expected a duration such as 30s, 5m or 30d, got "${v}"`);
  return parseDurationMs(v);
}
