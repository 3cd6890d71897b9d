// Positions of fields in a scenario file, looked up after loading: the loader validates and drops its YAML
// document, so code that finds a problem later (an image builder: a missing module file, a wrong sha256) asks
// here. The file is read and parsed on the first lookup only, i.e. only when there is an error to report.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { IssuePath, Position } from './issue.js';
import { yamlLocator } from './positions.js';

/** line:col of a field path in `file` (the value's start; the deepest existing key for a missing field). */
export function scenarioFileLocator(file: string): (path: IssuePath) => Position | undefined {
  let locate: ((path: IssuePath) => Position) | null | undefined;
  return (path) => {
    if (locate === undefined) {
      locate = null;
      // TypeScript scenarios (defineScenario) have no finer position than their file.
      if (/\.ya?ml$/i.test(file)) {
        try {
          const lc = new LineCounter();
          const doc = parseDocument(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''), { lineCounter: lc, merge: true, logLevel: 'silent' });
          const located = yamlLocator(doc, lc);
          locate = (p) => located.locate(p, 'value');
        } catch {
          locate = null;
        }
      }
    }
    return locate ? locate(path) : undefined;
  };
}
