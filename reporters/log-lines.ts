// How many command_logs lines the record keeps per VM per run: `harness run --log-lines N`, else
// $HARNESS_LOG_LINES, else `logLines: N` in harness.config.yaml, else 500. Each source is validated; a bad value
// names where it came from (the flag, the variable, or the file's line:col).
import { isScalar } from 'yaml';
import type { ScenarioIssue } from '../harness/errors.js';
import { describeValue } from '../harness/scenario/describe-value.js';
import { DEFAULT_LOG_CAP_PER_VM } from '../harness/store/write-events.js';
import { ConfigError, parseConfigDocument, readConfigText } from './config-file.js';

export const LOG_LINES_ENV = 'HARNESS_LOG_LINES';
export const LOG_LINES_KEY = 'logLines';
export { DEFAULT_LOG_CAP_PER_VM as DEFAULT_LOG_LINES };

const EXPECTED = 'a positive whole number of lines (default 500)';

/** The cap and where it came from (for messages). */
export interface LogLinesChoice {
  lines: number;
  /** '--log-lines', 'HARNESS_LOG_LINES', the config file's path, or 'default'. */
  source: string;
}

/** A positive whole number from text (a flag or an environment variable), or undefined. */
export function wholeNumber(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `--log-lines` / HARNESS_LOG_LINES text to a number; throws ConfigError naming the source. */
export function parseLogLinesText(text: string, source: string): number {
  const n = wholeNumber(text);
  if (n === undefined) throw new ConfigError([{ file: source, path: LOG_LINES_KEY, expected: EXPECTED, found: JSON.stringify(text) }]);
  return n;
}

/** The `logLines:` setting of a config file's text: undefined when absent; ConfigError at file:line:col when bad. */
export function parseLogLinesConfig(text: string, file: string): number | undefined {
  const doc = parseConfigDocument(text, file, (issues) => new ConfigError(issues));
  const entry = doc?.entry(LOG_LINES_KEY);
  if (!doc || !entry) return undefined;
  const value = isScalar(entry.node) ? entry.node.value : (entry.node?.toJSON() ?? null);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  const issue: ScenarioIssue = { file, ...doc.at([LOG_LINES_KEY]), path: LOG_LINES_KEY, expected: EXPECTED, found: describeValue(value) };
  throw new ConfigError([issue]);
}

/** Precedence: flag > environment > config file > default 500. */
export async function resolveLogLines(o: { flag?: number; env: NodeJS.ProcessEnv; configFile: string }): Promise<LogLinesChoice> {
  if (o.flag !== undefined) return { lines: o.flag, source: '--log-lines' };
  const fromEnv = o.env[LOG_LINES_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { lines: parseLogLinesText(fromEnv, LOG_LINES_ENV), source: LOG_LINES_ENV };
  const text = await readConfigText(o.configFile);
  const fromFile = text === undefined ? undefined : parseLogLinesConfig(text, o.configFile);
  if (fromFile !== undefined) return { lines: fromFile, source: o.configFile };
  return { lines: DEFAULT_LOG_CAP_PER_VM, source: 'default' };
}
