import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { itReal } from '../fixtures/real-backend.js';
import type { HarnessEvent } from '../harness/events.js';
import { createJunitReporter, renderJunit } from './junit.js';
import { RunCollector } from './run-model.js';
import { findAll, parseXml, type XmlElement } from './testing/mini-xml.js';
import { bootTimeoutRun, failedRun, passedRun, replay, sampleConsoleLog, sampleConsolePath } from './testing/sample-events.js';

const XSD = join(dirname(new URL(import.meta.url).pathname), 'testing', 'junit.xsd');
const noXmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'xmllint not installed (fix: apt-get install -y libxml2-utils)';
  }
})();

let dir: string;
let xml: string;
let doc: XmlElement;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'junit-test-'));
  for (const vm of ['server', 'client']) {
    mkdirSync(join(dir, 'vms', vm), { recursive: true });
    writeFileSync(join(dir, sampleConsolePath(vm)), sampleConsoleLog(vm));
  }
  // One reporter sees three runs (as a vitest reporter would): one <testsuite> each.
  const reporter = createJunitReporter({ path: join(dir, 'out', 'junit.xml'), baseDir: dir });
  await replay(reporter, [...passedRun(), ...failedRun(), ...bootTimeoutRun()]);
  xml = readFileSync(join(dir, 'out', 'junit.xml'), 'utf8');
  doc = parseXml(xml);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const suite = (name: string) => findAll(doc, 'testsuite').find((s) => s.attrs.name === name)!;
const testcase = (s: XmlElement, name: string) => s.children.find((c) => c.name === 'testcase' && c.attrs.name === name)!;

describe('junit reporter', () => {
  it('writes one testsuite per scenario with counts that match its steps', () => {
    expect(doc.name).toBe('testsuites');
    expect(findAll(doc, 'testsuite').map((s) => s.attrs.name)).toEqual(['smoke', 'web-stack', 'two-node']);
    expect(suite('smoke').attrs).toMatchObject({ tests: '3', failures: '0', errors: '0', skipped: '0' });
    expect(suite('web-stack').attrs).toMatchObject({ tests: '3', failures: '1', errors: '0', skipped: '1' });
    expect(suite('two-node').attrs).toMatchObject({ tests: '1', failures: '0', errors: '1' });
    expect(doc.attrs).toMatchObject({ tests: '7', failures: '1', errors: '1', skipped: '1' });
  });

  it('names each step testcase scenario.vm with its time in seconds', () => {
    const s = suite('smoke');
    expect(findAll(s, 'testcase').map((c) => [c.attrs.name, c.attrs.classname, c.attrs.time])).toEqual([
      ['kernel is Linux', 'smoke.server', '0.400'],
      ['network is up', 'smoke.server', '0.600'],
      ['disk has space', 'smoke.server', '4.000'],
    ]);
    expect(testcase(suite('web-stack'), 'server answers ping').attrs.classname).toBe('web-stack.client');
  });

  it('puts the command, exit code and output tails in the failure, escaped and round-tripping', () => {
    const f = testcase(suite('web-stack'), 'nginx is active').children.find((c) => c.name === 'failure')!;
    expect(f.attrs.message).toBe('expected exit code 0, got 3');
    expect(f.text).toContain('command: systemctl is-active nginx && curl -s "http://localhost/?a=1&b=<2>"');
    expect(f.text).toContain('exit code: 3');
    expect(f.text).toContain('<script>window.__pwned = 1</script>');
    expect(f.text).toContain(`failed (98: Address already in use) <"&'> red`);
    expect(f.text).not.toContain('\x1b');
    expect(testcase(suite('web-stack'), 'client can fetch page').children.map((c) => c.name)).toEqual(['skipped']);
  });

  it('reports a boot timeout as an error testcase on the VM with the console tail', () => {
    const c = testcase(suite('two-node'), 'boot');
    expect(c.attrs.classname).toBe('two-node.client');
    const e = c.children.find((x) => x.name === 'error')!;
    expect(e.attrs.message).toBe('VM client did not answer SSH within 30s (last error: Timed out while waiting for handshake)');
    expect(e.text).toContain('Kernel panic - not syncing');
    // Control bytes from the serial console are shown, not passed through (XML 1.0 forbids them).
    expect(e.text).toContain('& halt\\x07\\x00');
  });

  it('embeds each VM console (from the log files) in system-out', () => {
    const out = suite('web-stack').children.find((c) => c.name === 'system-out')!.text;
    expect(out).toContain(`==> server console (last 8 lines of ${sampleConsolePath('server')}) <==`);
    expect(out).toContain('tiny-init: dropbear listening on :22');
    expect(out).not.toMatch(/\r/);
  });

  itReal('validates against the JUnit schema with xmllint', noXmllint, () => {
    const file = join(dir, 'out', 'junit.xml');
    const r = execFileSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r).toBe('');
  });

  itReal('the schema check can fail: a testcase without classname is rejected', noXmllint, () => {
    const broken = join(dir, 'broken.xml');
    writeFileSync(broken, xml.replace(' classname="smoke.server"', ''));
    expect(() => execFileSync('xmllint', ['--noout', '--schema', XSD, broken], { stdio: 'pipe' })).toThrow(/fails to validate|classname/);
  });

  it('stays well-formed and keeps the text for any step name, error and output (property)', () => {
    // Mostly XML's special characters (so escaping is exercised every run), sometimes any code point at all.
    const special = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '<', '>', '&', '"', "'", '\n', '\t', ']', ';', '#'), maxLength: 40 });
    const text = fc.oneof(special, fc.string({ unit: 'binary', maxLength: 40 }));
    fc.assert(
      fc.property(text, text, text, (name, error, stdout) => {
        const events: HarnessEvent[] = [
          { type: 'run.started', runId: 'r', at: 0, scenario: 's', file: 'f', host: 'h', options: {} },
          { type: 'step.finished', runId: 'r', at: 5, index: 0, name, on: 'vm', status: 'failed', durationMs: 5, error, stdoutTail: stdout },
          { type: 'run.finished', runId: 'r', at: 6, status: 'failed', exitCode: 1, durationMs: 6 },
        ];
        const c = new RunCollector();
        events.forEach((e) => c.apply(e));
        const parsed = parseXml(renderJunit([...c.runs.values()]));
        const tc = findAll(parsed, 'testcase')[0]!;
        const failure = tc.children[0]!;
        // Printable text survives exactly; attribute newlines survive as &#10;.
        const printable = (s: string) => /^[\x20-\x7e\n\t]*$/.test(s);
        if (printable(name)) expect(tc.attrs.name).toBe(name);
        if (printable(error) && error) expect(failure.attrs.message).toBe(error);
        if (printable(stdout) && stdout.trim()) expect(failure.text).toContain(stdout.replace(/\n$/, '').split('\n').at(-1));
      }),
      { numRuns: 300 },
    );
  });

  it('says in the failure text when the output cap dropped bytes, and which end was kept', () => {
    const MiB = 1024 * 1024;
    const events = failedRun().map((e) =>
      e.type === 'step.finished' && e.status === 'failed' ? { ...e, droppedBytes: { stdout: 5 * MiB + 512 * 1024, stderr: 10 }, outputCapBytes: MiB } : e,
    );
    const c = new RunCollector();
    events.forEach((e) => c.apply(e));
    const failure = findAll(parseXml(renderJunit([...c.runs.values()])), 'failure')[0]!;
    expect(failure.text).toContain('stdout truncated: 5.5 MiB dropped (kept the last 1 MiB)\nstderr truncated: 10 bytes dropped (kept the last 1 MiB)\n');
    const plain = new RunCollector();
    failedRun().forEach((e) => plain.apply(e));
    expect(renderJunit([...plain.runs.values()])).not.toContain('truncated');
  });

  it('writes an empty but valid document when no run happened', async () => {
    const path = join(dir, 'empty.xml');
    await createJunitReporter({ path }).close();
    expect(parseXml(readFileSync(path, 'utf8')).attrs).toMatchObject({ tests: '0', failures: '0' });
  });
});
