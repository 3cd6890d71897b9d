// Substring and regex matchers from the scenario schema (`stdout: Linux` or `stdout: /^Linux \d/i`).
import type { Matcher } from '../scenario/schema.js';

export function matches(m: Matcher, text: string): boolean {
  if (m.kind === 'substring') return text.includes(m.text);
  m.regex.lastIndex = 0; // a /g or /y regex keeps state between calls
  return m.regex.test(text);
}

/** "contain \"x\"" or "match /x/i", to complete a sentence such as "stdout does not ...". */
export function describeMatcher(m: Matcher): string {
  return m.kind === 'substring' ? `contain ${JSON.stringify(m.text)}` : `match ${String(m.regex)}`;
}
