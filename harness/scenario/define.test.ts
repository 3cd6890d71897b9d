import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../errors.js';
import { defineScenario, definedSource, isDefinedScenario, UNKNOWN_CALLER } from './define.js';
import type { ScenarioInput } from './schema.js';

const thisFile = fileURLToPath(import.meta.url);
const hostMemoryBytes = 8 * 1024 ** 3;

function errorOf(f: () => unknown): ScenarioError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return e as ScenarioError;
  }
  throw new Error('expected a ScenarioError, nothing was thrown');
}

describe('defineScenario', () => {
  it('returns the normalised scenario with defaults filled in', () => {
    const s = defineScenario({ name: 'ts', vms: { web: { memory: '1G' } }, steps: [{ name: 'up', on: 'web', run: 'true' }] }, { hostMemoryBytes });
    expect(s.vms.web).toMatchObject({ memory: 1024 ** 3, provider: 'qemu', image: { builder: 'tiny' }, bootTimeout: 180_000 });
    expect(s.steps[0]).toMatchObject({ timeout: 60_000, expect: { exitCode: 0 } });
  });

  it('marks its result with where it came from, under a registered symbol another copy of this module shares', () => {
    const s = defineScenario({ name: 'ts', vms: { web: {} } }, { hostMemoryBytes });
    expect(isDefinedScenario(s)).toBe(true);
    expect(definedSource(s)).toEqual({ file: thisFile, dir: dirname(thisFile) });
    expect((s as unknown as Record<symbol, unknown>)[Symbol.for('vm-harness.defined-scenario')]).toEqual(definedSource(s));
    // Not enumerable: a copy is plain data again, and JSON shows no mark.
    expect(isDefinedScenario({ ...s })).toBe(false);
    expect(Object.keys(JSON.parse(JSON.stringify(s)))).toEqual(Object.keys(s));
    expect(isDefinedScenario({ name: 'raw' })).toBe(false);
  });

  it("names the caller's file and the line of the call, with path, expected and found", () => {
    const err = errorOf(() => defineScenario({ name: 'ts', vms: { web: { memory: '2GB' } } }, { hostMemoryBytes }));
    const callLine = lineOf("'2GB'");
    expect(err.issues).toEqual([
      expect.objectContaining({ file: thisFile, line: callLine, path: 'vms.web.memory', found: 'string "2GB"', expected: expect.stringMatching(/QEMU format/) }),
    ]);
    expect(err.message).toMatch(new RegExp(`^${thisFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${callLine}:\\d+: vms.web.memory: expected`));
  });

  it('applies the same rules as YAML files: step targets, duplicate names, host memory, port clashes', () => {
    const err = errorOf(() =>
      defineScenario(
        {
          name: 'rules',
          vms: { a: { memory: '16G', sshPort: 22400 }, b: { sshPort: 22400 } },
          steps: [
            { name: 's', on: 'a', run: 'true' },
            { name: 's', on: 'c', run: 'true' },
          ],
        },
        { hostMemoryBytes },
      ),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual(['steps[1].name', 'steps[1].on', 'vms.a.memory', 'vms.b.sshPort']);
  });

  it('steps may target containers as well as VMs', () => {
    const s = defineScenario({ name: 'mixed', vms: { a: {} }, containers: { db: { image: 'harness/busybox' } }, steps: [{ name: 'c', on: 'db', run: 'true' }] });
    expect(s.steps[0]!.on).toBe('db');
    const err = errorOf(() => defineScenario({ name: 'mixed', containers: { db: { image: 'harness/busybox' } }, steps: [{ name: 'c', on: 'web', run: 'true' }] }));
    expect(err.issues[0]!.expected).toMatch(/declared in this scenario \(db\)/);
  });

  it("resolves relative paths against the caller's directory and checks that input files exist", () => {
    const s = defineScenario({ name: 'paths', vms: { a: {} }, steps: [{ name: 'c', on: 'a', copyTo: { from: 'define.ts', to: '/tmp/x' } }] });
    expect(s.steps[0]).toMatchObject({ copyTo: { from: join(dirname(thisFile), 'define.ts') } });
    const err = errorOf(() => defineScenario({ name: 'paths', vms: { a: { image: { iso: 'nope.iso' } } } }));
    expect(err.issues[0]).toMatchObject({ path: 'vms.a.image.iso', expected: `an existing file (resolved to ${join(dirname(thisFile), 'nope.iso')})` });
  });

  it('opts.file names another file (for wrappers) and resolves against its directory', () => {
    const err = errorOf(() => defineScenario({ name: 'BAD' }, { file: '/srv/suite/web.ts' }));
    expect(err.issues[0]).toMatchObject({ file: '/srv/suite/web.ts', path: 'name' });
    expect(err.issues[0]!.line).toBeUndefined();
  });

  it('falls back to <defineScenario> when the caller cannot be found', () => {
    const saved = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      const err = errorOf(() => defineScenario({ name: 'BAD' }));
      expect(err.issues[0]!.file).toBe(UNKNOWN_CALLER);
    } finally {
      Error.stackTraceLimit = saved;
    }
  });

  it('turns hostile input (throwing getters, non-objects) into a ScenarioError too', () => {
    const hostile = {
      name: 'h',
      get vms(): never {
        throw new TypeError('boom');
      },
    };
    expect(errorOf(() => defineScenario(hostile as unknown as ScenarioInput)).issues[0]!.found).toMatch(/TypeError: boom/);
    expect(errorOf(() => defineScenario(null as unknown as ScenarioInput)).issues[0]).toMatchObject({ path: '', found: 'an empty value (null)' });
    expect(errorOf(() => defineScenario([] as unknown as ScenarioInput)).issues[0]!.found).toBe('an empty list');
  });
});

/** The line in this file where `marker` appears inside a defineScenario call. */
function lineOf(marker: string): number {
  return readFileSync(thisFile, 'utf8').split('\n').findIndex((l) => l.includes('defineScenario(') && l.includes(marker)) + 1;
}
