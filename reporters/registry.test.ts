import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../harness/events.js';
import { runReportFromEvents } from '../harness/store/run-report-from-events.js';
import { runReportJson, type RunReport } from '../harness/store/run-report.js';
import { HtmlReporter } from './html.js';
import { JsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import {
  createReporters,
  loadReporterConfig,
  parseReporterConfig,
  parseReporterFlag,
  ReporterConfigError,
  reporterNames,
  resolveReporters,
  type ReporterContext,
} from './registry.js';
import { TerminalReporter } from './terminal.js';
import { failedRun } from './testing/sample-events.js';

let dir: string;
let written: string[];
let ctx: ReporterContext;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
  written = [];
  ctx = { cwd: dir, env: {}, stream: { write: (s: string) => written.push(s) }, isTTY: false };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function errorOf(f: () => unknown): ReporterConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ReporterConfigError);
    return e as ReporterConfigError;
  }
  throw new Error('expected a ReporterConfigError, nothing was thrown');
}

describe('--reporter flag', () => {
  it('parses names and name:path entries', () => {
    expect(parseReporterFlag('terminal,junit:out.xml,html:report.html,json:run.json').map((s) => [s.name, s.options])).toEqual([
      ['terminal', {}],
      ['junit', { path: 'out.xml' }],
      ['html', { path: 'report.html' }],
      ['json', { path: 'run.json' }],
    ]);
    expect(parseReporterFlag(['junit', 'html']).map((s) => s.options.path)).toEqual(['junit.xml', 'report.html']);
  });

  it('rejects an unknown name, listing the known ones', () => {
    const e = errorOf(() => parseReporterFlag('terminal,junt:out.xml'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`--reporter: reporters[1]: expected a reporter name: one of ${reporterNames.join(', ')}, found "junt"`);
    expect(reporterNames).toEqual(['terminal', 'junit', 'html', 'json', 'sqlite']);
  });

  it('rejects empty entries and a path on a reporter that takes none, all at once', () => {
    const e = errorOf(() => parseReporterFlag('terminal:x,,html:'));
    expect(e.issues.map((i) => i.path)).toEqual(['reporters[0]', 'reporters[1]', 'reporters[2]']);
    expect(e.message).toContain('terminal takes no file');
    expect(e.message).toContain('reporters[2]: expected a file path, found an empty string');
  });
});

describe('harness.config.yaml', () => {
  it('reads the reporters list in both forms, ignoring keys owned by others', () => {
    const specs = parseReporterConfig('defaults:\n  memory: 1G\nreporters:\n  - terminal\n  - {junit: out.xml}\n  - html:\n      path: r/report.html\n      tailLines: 5\n  - json:run.json\n', '/proj/harness.config.yaml')!;
    expect(specs.map((s) => [s.name, s.options, s.source])).toEqual([
      ['terminal', {}, '/proj/harness.config.yaml:4'],
      ['junit', { path: 'out.xml' }, '/proj/harness.config.yaml:5'],
      ['html', { path: 'r/report.html', tailLines: 5 }, '/proj/harness.config.yaml:6'],
      ['json', { path: 'run.json' }, '/proj/harness.config.yaml:9'],
    ]);
    expect(specs[0]!.baseDir).toBe('/proj');
  });

  it('names file:line:col for an unknown reporter, an unknown option and a bad value', () => {
    const e = errorOf(() => parseReporterConfig('reporters:\n  - terminal\n  - {junti: out.xml}\n  - html:\n      pth: r.html\n      tailLines: -5\n', 'harness.config.yaml'));
    expect(e.message.split('\n')).toEqual([
      `harness.config.yaml:3:6: reporters[1].junti: expected a reporter name: one of ${reporterNames.join(', ')}, found "junti"`,
      'harness.config.yaml:5:7: reporters[2].html: expected only the options path, consoleLines, tailLines, found pth',
      'harness.config.yaml:6:18: reporters[2].html.tailLines: expected a positive whole number, found number -5',
    ]);
  });

  it('names file:line for YAML syntax errors and a reporters value that is not a list', () => {
    expect(errorOf(() => parseReporterConfig('reporters: [terminal\n', 'c.yaml')).message).toMatch(/^c\.yaml:2:1: .*expected valid YAML/);
    expect(errorOf(() => parseReporterConfig('x: 1\nreporters: terminal\n', 'c.yaml')).message).toBe(
      'c.yaml:2:12: reporters: expected a list such as [terminal, {junit: out.xml}], found string "terminal"',
    );
    expect(errorOf(() => parseReporterConfig('reporters:\n  - [a, b]\n', 'c.yaml')).message).toMatch(/^c\.yaml:2:5: reporters\[0\]: expected a reporter name or a one-key map/);
  });

  it('is optional: no file or no reporters key means "use the default"', async () => {
    expect(await loadReporterConfig(join(dir, 'missing.yaml'))).toBeUndefined();
    writeFileSync(join(dir, 'harness.config.yaml'), 'defaults: {}\n');
    expect(await loadReporterConfig(join(dir, 'harness.config.yaml'))).toBeUndefined();
  });
});

describe('building reporters', () => {
  it('builds the right subscriber for each name', async () => {
    const subs = await createReporters(parseReporterFlag('terminal,junit:a.xml,html:b.html,json:c.json'), ctx);
    expect(subs.map((s) => s.constructor)).toEqual([TerminalReporter, JunitReporter, HtmlReporter, JsonReporter]);
  });

  it('end to end through the bus: every file written, the terminal got the run', async () => {
    const bus = new EventBus('run-failed-02');
    for (const s of await createReporters(parseReporterFlag('terminal,junit:out/junit.xml,html:out/report.html,json:out/run.json'), ctx)) bus.subscribe(s);
    for (const e of failedRun()) bus.emit(e);
    await bus.close();
    expect(readFileSync(join(dir, 'out/junit.xml'), 'utf8')).toContain('<testsuite name="web-stack" tests="3" failures="1"');
    expect(readFileSync(join(dir, 'out/report.html'), 'utf8')).toContain('<title>web-stack: failed</title>');
    // The whole run reached the JSON reporter through the bus: its file is the report of every event, not a stub.
    const json = readFileSync(join(dir, 'out/run.json'), 'utf8');
    expect(json).toBe(runReportJson(runReportFromEvents(failedRun())));
    const report = JSON.parse(json) as RunReport;
    expect(report).toMatchObject({ id: 'run-failed-02', scenario: 'web-stack', status: 'failed', summary: { total: 3, passed: 1, failed: 1, skipped: 1 } });
    expect(report.steps.map((st) => [st.name, st.status, st.exitCode])).toEqual([
      ['server answers ping', 'passed', 0],
      ['nginx is active', 'failed', 3],
      ['client can fetch page', 'skipped', null],
    ]);
    expect(report.vms.map((v) => v.name).sort()).toEqual(['client', 'server']);
    expect(written.join('')).toContain('Summary: web-stack FAILED');
  });

  it('uses the flag over the config file, the config file over the default, and resolves config paths from its folder', async () => {
    mkdirSync(join(dir, 'conf'));
    const configFile = join(dir, 'conf', 'harness.config.yaml');
    writeFileSync(configFile, 'reporters:\n  - junit: reports/junit.xml\n');
    const fromConfig = await resolveReporters({ configFile, ctx });
    expect(fromConfig.map((s) => s.constructor)).toEqual([JunitReporter]);
    await fromConfig[0]!.close?.();
    expect(existsSync(join(dir, 'conf', 'reports', 'junit.xml'))).toBe(true);

    expect((await resolveReporters({ flag: 'html:x.html', configFile, ctx })).map((s) => s.constructor)).toEqual([HtmlReporter]);
    expect((await resolveReporters({ configFile: join(dir, 'none.yaml'), ctx })).map((s) => s.constructor)).toEqual([TerminalReporter]);
  });

  it('a bad config file fails before anything is built', async () => {
    writeFileSync(join(dir, 'harness.config.yaml'), 'reporters:\n  - html: r.html\n  - teamcity\n');
    await expect(resolveReporters({ ctx })).rejects.toThrow(/harness\.config\.yaml:3:5: reporters\[1\]: expected a reporter name/);
    expect(existsSync(join(dir, 'r.html'))).toBe(false);
  });
});
