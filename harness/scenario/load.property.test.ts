// Property: whatever the input, loading either succeeds or fails with a ScenarioError whose issues are readable.
// Never another exception, never a hang (sizes are bounded; each property has a generous per-test timeout).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ScenarioError } from '../errors.js';
import { loadScenarioText } from './load.js';
import { defineScenario } from './define.js';
import type { ScenarioInput } from './schema.js';

const hostMemoryBytes = 8 * 1024 ** 3;
const NUM_RUNS = 300;

async function outcome(p: () => Promise<unknown> | unknown): Promise<'ok' | ScenarioError> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw new Error(`threw ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    return e;
  }
}

/**
 * load.ts and validate.ts turn any exception inside the loader or the rules into an issue like this one, so the
 * input still exits 2; but for these small inputs it would mean a crash (a TypeError in a rule), not a user error.
 */
const INTERNAL_FAILURE = /^an input that broke it\b/;

function assertReadable(r: 'ok' | ScenarioError): void {
  if (r === 'ok') return;
  const internal = r.issues.filter((i) => INTERNAL_FAILURE.test(i.found));
  expect(internal, `the loader crashed inside: ${internal.map((i) => `${i.path}: ${i.found}`).join('; ')}`).toEqual([]);
  expect(r.issues.length).toBeGreaterThan(0);
  expect(r.issues.length).toBeLessThanOrEqual(50);
  for (const i of r.issues) {
    expect(typeof i.path).toBe('string');
    expect(i.expected.length).toBeGreaterThan(0);
    expect(i.found.length).toBeGreaterThan(0);
    expect(i.expected.startsWith('\u0000')).toBe(false); // internal hints never leak
    if (i.line !== undefined) expect(i.line).toBeGreaterThanOrEqual(1);
  }
}

/** Characters that make YAML interesting: indicators, quotes, anchors, tags, flow brackets, tabs, newlines. */
const yamlChar = fc.constantFrom(...'abcz019 :-?,[]{}#&*!|>\'"%@`\t\n\r\\/.~<=+'.split(''), 'name: ', 'vms:\n  ', '\n  - ', '---\n', '\u00e9', '\u0000', '\ufeff');
const yamlText = fc.array(yamlChar, { maxLength: 120 }).map((cs) => cs.join(''));

// A valid scenario to start from, then mutations that break one thing at a time (or several).
const validScenario: ScenarioInput = {
  name: 'prop',
  vms: { a: { memory: '256M', sshPort: 22300, ports: [{ guest: 80, host: 18000 }] }, b: { image: { builder: 'nixos' } } },
  steps: [
    { name: 'one', on: 'a', run: 'true', expect: { stdout: '/ok/i' } },
    { name: 'two', on: 'b', assert: { port: 22 }, within: '5s' },
    { name: 'three', on: 'a', waitUntil: { command: 'true', timeout: '10s' } },
  ],
  teardown: 'keep',
};

const pathInto = fc.constantFrom<(string | number)[]>(
  ['name'],
  ['vms'],
  ['vms', 'a'],
  ['vms', 'a', 'memory'],
  ['vms', 'a', 'sshPort'],
  ['vms', 'a', 'ports', 0],
  ['vms', 'b', 'image'],
  ['vms', 'b', 'image', 'builder'],
  ['steps'],
  ['steps', 0],
  ['steps', 1, 'assert'],
  ['steps', 2, 'waitUntil', 'timeout'],
  ['steps', 0, 'expect', 'stdout'],
  ['steps', 0, 'name'],
  ['steps', 1, 'on'],
  ['steps', 2, 'waitUntil', 'interval'],
  ['vms', 'a', 'ports', 0, 'host'],
  ['vms', 'b', 'image', 'modules'],
  ['containers'],
  // A TypeScript caller's array with another prototype (none of Array's methods, or a typed array's).
  ['steps', '__proto__'],
  ['vms', 'a', 'ports', '__proto__'],
  ['teardown'],
  ['ssh'],
  ['bogus'],
);

const mutation = fc.record({ path: pathInto, value: fc.oneof(fc.anything({ maxDepth: 3, maxKeys: 4 }), fc.constant(undefined), fc.string(), fc.integer(), fc.double()) });

function mutate(base: unknown, muts: { path: (string | number)[]; value: unknown }[]): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  for (const { path, value } of muts) {
    let cur: unknown = copy;
    for (const p of path.slice(0, -1)) {
      if (cur === null || typeof cur !== 'object') break;
      cur = (cur as Record<string | number, unknown>)[p];
    }
    if (cur !== null && typeof cur === 'object') {
      const last = path[path.length - 1]!;
      if (value === undefined) delete (cur as Record<string | number, unknown>)[last];
      else (cur as Record<string | number, unknown>)[last] = value;
    }
  }
  return copy;
}

describe('loadScenarioText never throws anything but ScenarioError', () => {
  it('on random YAML-ish text', async () => {
    await fc.assert(
      fc.asyncProperty(yamlText, async (text) => assertReadable(await outcome(() => loadScenarioText(text, '/tmp/prop.yaml', { hostMemoryBytes })))),
      { numRuns: NUM_RUNS },
    );
  });

  it('on random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => assertReadable(await outcome(() => loadScenarioText(bytes, '/tmp/prop.yaml', { hostMemoryBytes })))),
      { numRuns: NUM_RUNS },
    );
  });

  it('on mutated scenarios, as YAML and through defineScenario', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (muts) => {
        const data = mutate(validScenario, muts);
        assertReadable(await outcome(() => defineScenario(data as ScenarioInput, { file: '/tmp/prop.ts', hostMemoryBytes })));
        let text: string | undefined;
        try {
          text = stringify(data);
        } catch {
          text = undefined; // not representable as YAML (yaml.stringify refuses it)
        }
        if (text !== undefined) assertReadable(await outcome(() => loadScenarioText(text, '/tmp/prop.yaml', { hostMemoryBytes })));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the unmutated base scenario is valid (so the mutations are what break it)', () => {
    expect(defineScenario(validScenario, { file: '/tmp/prop.ts', hostMemoryBytes }).steps).toHaveLength(3);
  });
});
