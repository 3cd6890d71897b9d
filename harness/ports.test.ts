// portRange: $HARNESS_PORT_RANGE narrows where ports are picked; a malformed value is refused, not ignored.
import { describe, expect, test } from 'vitest';
import { DEFAULT_PORT_RANGE, portRange } from './ports.js';

describe('portRange', () => {
  test('defaults when unset', () => {
    expect(portRange({})).toEqual(DEFAULT_PORT_RANGE);
  });

  test('reads LO-HI', () => {
    expect(portRange({ HARNESS_PORT_RANGE: '31000-31002' })).toEqual([31000, 31002]);
    expect(portRange({ HARNESS_PORT_RANGE: ' 40000 - 40000 ' })).toEqual([40000, 40000]);
  });

  test.each(['31000', '31002-31000', '80-90', '60000-70000', 'a-b'])('refuses %s, naming what it expected', (raw) => {
    expect(() => portRange({ HARNESS_PORT_RANGE: raw })).toThrow(/HARNESS_PORT_RANGE: expected "LO-HI".*got/);
  });
});
