import { describe, expect, it } from 'vitest';
import { fixedLocator, formatPath, toScenarioIssues, type RawIssue } from './issue.js';
import { closest } from './zod-issues.js';

describe('formatPath', () => {
  it('writes dotted keys, [index] for lists and quotes keys that are not plain words', () => {
    expect(formatPath(['vms', 'server', 'memory'])).toBe('vms.server.memory');
    expect(formatPath(['steps', 1, 'on'])).toBe('steps[1].on');
    expect(formatPath(['vms', 'my vm'])).toBe('vms["my vm"]');
    expect(formatPath([])).toBe('');
  });

  it('shortens absurdly deep paths', () => {
    const p = formatPath(Array.from({ length: 100 }, () => 0));
    expect(p).toContain('(88 more levels)');
    expect(p.length).toBeLessThan(80);
  });
});

describe('toScenarioIssues', () => {
  it('orders by position, drops exact repeats and keeps the file', () => {
    const raw: RawIssue[] = [
      { path: ['b'], expected: 'x', found: 'y', offset: 20 },
      { path: ['a'], expected: 'x', found: 'y', offset: 5 },
      { path: ['a'], expected: 'x', found: 'y', offset: 5 },
    ];
    const locator = { locate: () => ({}), locateOffset: (o: number) => ({ line: o, col: 1 }) };
    expect(toScenarioIssues(raw, '/s.yaml', locator)).toEqual([
      { file: '/s.yaml', line: 5, col: 1, path: 'a', expected: 'x', found: 'y' },
      { file: '/s.yaml', line: 20, col: 1, path: 'b', expected: 'x', found: 'y' },
    ]);
  });

  it('leaves line and col out when the source has no positions', () => {
    expect(toScenarioIssues([{ path: ['name'], expected: 'x', found: 'y' }], '<defineScenario>', fixedLocator({}))).toEqual([
      { file: '<defineScenario>', path: 'name', expected: 'x', found: 'y' },
    ]);
  });
});

describe('closest (did you mean)', () => {
  it('suggests near misses and case slips, nothing for unrelated words', () => {
    expect(closest('memroy', ['cpus', 'memory', 'disk'])).toBe('memory');
    expect(closest('SSHPort', ['sshPort', 'ports'])).toBe('sshPort');
    expect(closest('banana', ['cpus', 'memory', 'disk'])).toBeUndefined();
    expect(closest('ab', ['cd'])).toBeUndefined(); // two edits in a two-letter word is a guess too far
  });
});
