// The command_logs cap's sources and precedence (flag > HARNESS_LOG_LINES > logLines: in the config file > 500),
// and errors that name where a bad value came from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config-file.js';
import { parseLogLinesConfig, resolveLogLines } from './log-lines.js';

let dir: string;
let configFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'harness-log-lines-'));
  configFile = join(dir, 'harness.config.yaml');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveLogLines', () => {
  it('takes the flag over the environment over the config file over the default 500', async () => {
    const none = join(dir, 'absent.yaml');
    expect(await resolveLogLines({ env: {}, configFile: none })).toEqual({ lines: 500, source: 'default' });
    writeFileSync(configFile, 'reporters: [terminal]\n'); // a config file without the key: still the default
    expect(await resolveLogLines({ env: {}, configFile })).toEqual({ lines: 500, source: 'default' });
    writeFileSync(configFile, 'reporters: [terminal]\nlogLines: 300\n');
    expect(await resolveLogLines({ env: {}, configFile })).toEqual({ lines: 300, source: configFile });
    expect(await resolveLogLines({ env: { HARNESS_LOG_LINES: '200' }, configFile })).toEqual({ lines: 200, source: 'HARNESS_LOG_LINES' });
    expect(await resolveLogLines({ flag: 100, env: { HARNESS_LOG_LINES: '200' }, configFile })).toEqual({ lines: 100, source: '--log-lines' });
    expect(await resolveLogLines({ flag: 100, env: {}, configFile: none })).toEqual({ lines: 100, source: '--log-lines' });
    expect(await resolveLogLines({ env: { HARNESS_LOG_LINES: '' }, configFile })).toEqual({ lines: 300, source: configFile }); // empty = unset
  });

  it('a higher-precedence source wins even when a lower one is invalid', async () => {
    writeFileSync(configFile, 'logLines: lots\n');
    expect((await resolveLogLines({ env: { HARNESS_LOG_LINES: '9' }, configFile })).lines).toBe(9);
    expect((await resolveLogLines({ flag: 8, env: { HARNESS_LOG_LINES: 'x' }, configFile })).lines).toBe(8);
  });

  it('names the variable for a bad HARNESS_LOG_LINES', async () => {
    for (const bad of ['abc', '0', '-5', '1.5', '1e3']) {
      await expect(resolveLogLines({ env: { HARNESS_LOG_LINES: bad }, configFile })).rejects.toThrow(
        new RegExp(`^HARNESS_LOG_LINES: logLines: expected a positive whole number of lines \\(default 500\\), found "${bad.replace('.', '\\.')}"$`),
      );
    }
  });
});

describe('parseLogLinesConfig', () => {
  it('names file:line:col of a bad value, as the reporters: errors do', () => {
    const text = 'reporters:\n  - terminal\nlogLines: many\n';
    expect(() => parseLogLinesConfig(text, '/p/harness.config.yaml')).toThrow(ConfigError);
    expect(() => parseLogLinesConfig(text, '/p/harness.config.yaml')).toThrow(
      /^\/p\/harness\.config\.yaml:3:11: logLines: expected a positive whole number of lines \(default 500\), found string "many"$/,
    );
    expect(() => parseLogLinesConfig('logLines: 0\n', 'c.yaml')).toThrow(/^c\.yaml:1:11: logLines: expected .*, found number 0$/);
    expect(() => parseLogLinesConfig('logLines: [1]\n', 'c.yaml')).toThrow(/^c\.yaml:1:11: logLines: expected/);
    expect(() => parseLogLinesConfig('logLines:\n', 'c.yaml')).toThrow(/^c\.yaml:1:1: logLines: expected .*, found an empty value \(null\)$/);
    expect(() => parseLogLinesConfig('logLines: [1\n', 'c.yaml')).toThrow(/^c\.yaml:\d+:\d+: \(document\): expected valid YAML/);
  });

  it('reads a valid value and ignores a file without the key', () => {
    expect(parseLogLinesConfig('logLines: 1000\n', 'c.yaml')).toBe(1000);
    expect(parseLogLinesConfig('reporters: [terminal]\n', 'c.yaml')).toBeUndefined();
    expect(parseLogLinesConfig('', 'c.yaml')).toBeUndefined();
  });
});
