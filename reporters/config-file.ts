// harness.config.yaml, the project's settings file. Each part of the harness reads its own top-level key
// (`reporters:` in registry.ts, `logLines:` in log-lines.ts); this file reads and parses the document and locates
// values, so every reader's errors name file:line:col the same way.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { formatIssue, HarnessError, type ScenarioIssue } from '../harness/errors.js';
import { describeValue } from '../harness/scenario/describe-value.js';
import { yamlLocator } from '../harness/scenario/positions.js';

/** A bad setting in the config file, the environment or on the command line (exit 2, like any invalid input). */
export class ConfigError extends HarnessError {
  override readonly exitCode: number = 2;
  constructor(readonly issues: ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

/** The config file a project root has, by its fixed name. */
export function configFilePath(root: string): string {
  return resolve(root, 'harness.config.yaml');
}

/** The file's text, or undefined when there is no such file. */
export async function readConfigText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export interface ConfigDocument {
  file: string;
  /** The node under a top-level key; undefined when the key is absent. */
  entry(key: string): { node: Node | null } | undefined;
  /** line:col of the value (or key) at a path such as ['reporters', 1, 'junit']. */
  at(path: (string | number)[], where?: 'key' | 'value'): { line?: number; col?: number };
}

/**
 * Parses the settings document. Undefined for an empty file; throws `fail(issues)` for a YAML error or a document
 * that is not a map, each issue at file:line:col.
 */
export function parseConfigDocument(text: string, file: string, fail: (issues: ScenarioIssue[]) => Error): ConfigDocument | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    throw fail(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, path: '', expected: 'valid YAML', found: e.message.split('\n')[0]! };
      }),
    );
  }
  const locator = yamlLocator(doc, lc);
  const at = (path: (string | number)[], where: 'key' | 'value' = 'value') => locator.locate(path, where);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return undefined;
  if (!isMap(root)) throw fail([{ file, ...at([]), path: '', expected: 'a map of settings (reporters: [...])', found: describeValue(doc.toJS()) }]);
  return {
    file,
    at,
    entry(key) {
      const pair = (root.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === key);
      return pair ? { node: (pair.value as Node | null) ?? null } : undefined;
    },
  };
}
