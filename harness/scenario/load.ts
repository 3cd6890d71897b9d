// Loads a scenario file: bytes -> UTF-8 text -> YAML document with source positions -> validated Scenario.
// Every problem, from a missing file to an alias bomb, comes out as one ScenarioError listing file:line:col issues.
import { stat, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAlias, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { ScenarioError } from '../errors.js';
import type { Scenario } from './schema.js';
import { formatSize } from './units.js';
import { quote } from './describe-value.js';
import { fixedLocator, toScenarioIssues, type Locator, type RawIssue } from './issue.js';
import { pathAtOffset, yamlLocator } from './positions.js';
import { decodeUtf8 } from './utf8.js';
import { describeError, validateScenarioData, type ValidateOptions } from './validate.js';

export interface LoadedScenario {
  scenario: Scenario;
  /** Absolute path of the scenario file. */
  file: string;
  /** Its directory: relative paths in the scenario were resolved against it. */
  dir: string;
}

export type LoadOptions = ValidateOptions;

/** Scenario files are small; anything bigger is a mistake (or an attack) and is refused before reading. */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** Alias expansions allowed while building the data (a "billion laughs" document needs far more). */
export const MAX_ALIAS_COUNT = 100;

export async function loadScenarioFile(path: string, opts: LoadOptions = {}): Promise<LoadedScenario> {
  const file = resolve(path);
  const fail = (expected: string, found: string) => new ScenarioError([{ file, path: '', expected, found }]);
  let bytes: Buffer;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw fail('a scenario file', 'a directory');
    if (st.size > MAX_SCENARIO_BYTES) throw fail(`a scenario file of at most ${formatSize(MAX_SCENARIO_BYTES)}`, `${formatSize(st.size)}`);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException)?.code;
    throw fail('a readable scenario file', code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'a file this user may not read' : describeError(e));
  }
  return loadScenarioText(bytes, file, opts);
}

/** Validates scenario text (or raw bytes) as if it came from `file`; relative paths resolve against its directory. */
export async function loadScenarioText(text: string | Uint8Array, file: string, opts: LoadOptions = {}): Promise<LoadedScenario> {
  const abs = resolve(file);
  const dir = dirname(abs);
  let locator: Locator = fixedLocator({});
  try {
    const decoded = typeof text === 'string' ? { text } : decodeUtf8(text);
    if ('error' in decoded) {
      throw new ScenarioError([{ file: abs, line: decoded.line, col: decoded.col, path: '', expected: 'UTF-8 text', found: decoded.error }]);
    }
    const source = decoded.text.replace(/^\uFEFF/, '');
    if (source.length > MAX_SCENARIO_BYTES) {
      throw new ScenarioError([{ file: abs, path: '', expected: `a scenario of at most ${formatSize(MAX_SCENARIO_BYTES)}`, found: `${formatSize(source.length)} of text` }]);
    }
    const lc = new LineCounter();
    const doc = parseDocument(source, { lineCounter: lc, prettyErrors: false, uniqueKeys: false, merge: true, logLevel: 'error' });
    locator = yamlLocator(doc, lc);
    const syntax = yamlProblems(doc, source);
    if (syntax.length > 0) throw new ScenarioError(toScenarioIssues(syntax, abs, locator));
    if (doc.contents === null) {
      throw new ScenarioError([{ file: abs, line: 1, col: 1, path: '', expected: 'a scenario: a map with name, vms and steps', found: 'an empty document' }]);
    }
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const bomb = /alias count/i.test(String((e as Error)?.message));
      const issue: RawIssue = bomb
        ? { path: [], expected: `at most ${MAX_ALIAS_COUNT} alias (*name) expansions`, found: 'more: aliases that multiply like a "billion laughs" document' }
        : { path: [], expected: 'a YAML document that converts to plain data', found: describeError(e) };
      throw new ScenarioError(toScenarioIssues([issue], abs, locator));
    }
    return { scenario: validateScenarioData(data, { file: abs, dir, locator, hostMemoryBytes: opts.hostMemoryBytes }), file: abs, dir };
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    // Stack overflows on absurd nesting, or anything else a library throws: still an input problem, still exit 2.
    throw new ScenarioError([{ file: abs, path: '', expected: 'a scenario the loader can read', found: `an input that broke it (${describeError(e)})` }], { cause: e });
  }
}

/**
 * YAML syntax errors, tags we don't resolve, duplicate keys, non-string keys and aliases to unknown anchors.
 * Duplicate keys are found here with a Set: the yaml package's own uniqueKeys check compares every pair of keys,
 * which takes seconds to minutes on a 1M map of short keys.
 */
function yamlProblems(doc: Document, source: string): RawIssue[] {
  const out: RawIssue[] = doc.errors.map((err) => syntaxIssue(doc, err, source));
  for (const w of doc.warnings) {
    if (w.code === 'TAG_RESOLVE_FAILED') {
      out.push({ path: pathAtOffset(doc, w.pos[0]), offset: w.pos[0], expected: 'plain YAML values (no custom tags)', found: `the tag ${quote(source.slice(w.pos[0], w.pos[1]).split(/\s/)[0] ?? '')}` });
    }
  }
  if (out.length > 0) return out;
  const anchors = new Set<string>();
  visit(doc, {
    Node(_, node) {
      if (!isAlias(node) && node.anchor) anchors.add(node.anchor);
    },
    Alias(_, node) {
      if (!anchors.has(node.source)) {
        const at = node.range?.[0] ?? 0;
        out.push({ path: pathAtOffset(doc, at), offset: at, expected: 'an alias to an anchor defined above it (&name before *name)', found: `*${node.source}` });
      }
    },
    Map(_, map) {
      if (map.anchor) anchors.add(map.anchor); // the Map visitor replaces Node for maps
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isPair(pair) || pair.key === null) continue;
        const at = (pair.key as { range?: [number, number, number] }).range?.[0] ?? 0;
        if (!isScalar(pair.key)) {
          out.push({ path: pathAtOffset(doc, at), offset: at, expected: 'a plain key (a word, not a list or a map)', found: 'a complex key (? [...] or {...})' });
          continue;
        }
        const v = pair.key.value;
        const key = typeof v === 'symbol' ? (v.description ?? '') : String(v);
        if (seen.has(key)) out.push({ path: pathAtOffset(doc, at), offset: at, expected: 'each key once in a map', found: `the key ${quote(key)} a second time` });
        seen.add(key);
      }
    },
  });
  return out;
}

function syntaxIssue(doc: Document, err: YAMLError, source: string): RawIssue {
  const offset = err.pos[0];
  const path = pathAtOffset(doc, offset);
  const first = err.message.split('\n')[0]!;
  switch (err.code) {
    case 'DUPLICATE_KEY':
      return { path, offset, expected: 'each key once in a map', found: `the key ${quote(keyAt(source, offset))} a second time` };
    case 'MULTIPLE_DOCS':
      return { path: [], offset, expected: 'a single YAML document', found: 'a second document (after ---)' };
    case 'RESOURCE_EXHAUSTION':
      return { path, offset, expected: 'a document nested less deeply', found: `nesting too deep to read (${first})` };
    case 'TAB_AS_INDENT':
      return { path, offset, expected: 'spaces for indentation', found: 'a tab' };
    default:
      return { path, offset, expected: 'valid YAML', found: `a syntax error: ${first.charAt(0).toLowerCase()}${first.slice(1)}` };
  }
}

function keyAt(source: string, offset: number): string {
  return /^[^:\n,}\]]*/.exec(source.slice(offset, offset + 200))![0].trim();
}
