import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { ScenarioError, type ScenarioIssue } from '../errors.js';
import { loadScenarioFile, loadScenarioText, MAX_SCENARIO_BYTES } from './load.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';

const tmp = mkdtempSync(join(tmpdir(), 'scenario-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function issuesOf(p: Promise<unknown>): Promise<ScenarioIssue[]> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ScenarioError);
  return (e as ScenarioError).issues;
}

describe('loadScenarioText', () => {
  it('names the file, line, column and path, and resolves the file to an absolute path', async () => {
    const text = 'name: demo\nvms:\n  server:\n    memory: lots\n';
    const [i, ...rest] = await issuesOf(loadScenarioText(text, 'rel/demo.yaml', { hostMemoryBytes: 2 ** 33 }));
    expect(rest).toEqual([]);
    expect(i).toMatchObject({ file: join(process.cwd(), 'rel/demo.yaml'), line: 4, col: 13, path: 'vms.server.memory', found: 'string "lots"' });
    expect(i!.expected).toMatch(/QEMU format/);
  });

  it('returns the scenario with its absolute file and directory', async () => {
    const loaded = await loadScenarioText('name: ok\n', join(tmp, 'ok.yaml'));
    expect(loaded).toMatchObject({ file: join(tmp, 'ok.yaml'), dir: tmp, scenario: { name: 'ok', vms: {}, steps: [], teardown: 'destroy' } });
  });

  it('an empty string is an empty document, not a crash', async () => {
    expect(await issuesOf(loadScenarioText('', 'e.yaml'))).toMatchObject([{ line: 1, col: 1, found: 'an empty document' }]);
  });

  it('collects every problem instead of stopping at the first', async () => {
    const text = 'name: X\nvms:\n  a: { cpus: 0, memory: 1Q, bogus: 1 }\nsteps:\n  - { name: s, on: b, run: "" }\n';
    const paths = (await issuesOf(loadScenarioText(text, 'x.yaml', { hostMemoryBytes: 2 ** 33 }))).map((i) => i.path);
    expect(paths).toEqual(['name', 'vms.a.cpus', 'vms.a.memory', 'vms.a.bogus', 'steps[0].on', 'steps[0].run']);
  });

  it('uses os.totalmem() when no host memory is given', async () => {
    const tooMuch = Math.ceil(totalmem() / 1024 ** 3) + 1;
    const [i] = await issuesOf(loadScenarioText(`name: big\nvms:\n  a: { memory: ${tooMuch}G }\n`, 'x.yaml'));
    expect(i).toMatchObject({ path: 'vms.a.memory', line: 3, col: 16 });
    expect(i!.expected).toMatch(/at most this host's memory/);
  });

  it('reports bytes that are not UTF-8 (and UTF-16) with a position', async () => {
    const latin1 = Buffer.concat([Buffer.from('name: ok\ndescription: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    expect(await issuesOf(loadScenarioText(latin1, 'l.yaml'))).toMatchObject([{ line: 2, col: 17, expected: 'UTF-8 text' }]);
    const utf16 = Buffer.from('\ufeffname: ok\n', 'utf16le');
    expect((await issuesOf(loadScenarioText(utf16, 'u.yaml')))[0]!.found).toMatch(/UTF-16/);
    // A UTF-8 byte-order mark is fine.
    expect((await loadScenarioText(Buffer.from('\ufeffname: bom\n'), 'b.yaml')).scenario.name).toBe('bom');
  });

  it('survives absurd nesting and refuses oversized text without parsing it', async () => {
    const deep = `name: deep\ndescription: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    const issues = await issuesOf(loadScenarioText(deep, 'd.yaml'));
    expect(issues.length).toBeGreaterThan(0);
    const big = `name: big\ndescription: "${'x'.repeat(MAX_SCENARIO_BYTES)}"\n`;
    expect((await issuesOf(loadScenarioText(big, 'big.yaml')))[0]!.expected).toMatch(/at most 1M/);
  });

  it('caps the list at 50 issues and says how many more there were', async () => {
    const keys = Array.from({ length: 80 }, (_, i) => `  k${i}: 1`).join('\n');
    const issues = await issuesOf(loadScenarioText(`name: many\nvms:\n  a:\n${keys.replaceAll('  k', '    k')}\n`, 'm.yaml'));
    expect(issues).toHaveLength(50);
    expect(issues[49]!.found).toMatch(/31 more issues not shown/);
  });
});

describe('loadScenarioFile', () => {
  it('a missing file, a directory and an oversized file are ScenarioErrors naming the file', async () => {
    expect(await issuesOf(loadScenarioFile(join(tmp, 'nope.yaml')))).toMatchObject([{ file: join(tmp, 'nope.yaml'), found: 'no such file' }]);
    expect(await issuesOf(loadScenarioFile(tmp))).toMatchObject([{ found: 'a directory' }]);
    const huge = join(tmp, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 10 * 1024 ** 3); // sparse: 10G that must never be read
    expect((await issuesOf(loadScenarioFile(huge)))[0]).toMatchObject({ expected: 'a scenario file of at most 1M', found: '10G' });
  });

  it('checks ssh.privateKeyFile: a real key loads, the .pub and an encrypted key are refused', async () => {
    const dir = join(tmp, 'keys');
    mkdirSync(dir);
    const plain = generateEd25519KeyPair();
    const locked = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'secret', cipher: 'aes256-ctr', rounds: 4 } as never);
    writeFileSync(join(dir, 'id'), plain.private, { mode: 0o600 });
    writeFileSync(join(dir, 'id.pub'), plain.public);
    writeFileSync(join(dir, 'locked'), locked.private, { mode: 0o600 });
    const scenario = (key: string) => `name: k\nssh:\n  privateKeyFile: ${key}\n`;

    const ok = await loadScenarioText(scenario('keys/id'), join(tmp, 's.yaml'));
    expect(ok.scenario.ssh.privateKeyFile).toBe(join(dir, 'id'));

    const [pub] = await issuesOf(loadScenarioText(scenario('keys/id.pub'), join(tmp, 's.yaml')));
    expect(pub).toMatchObject({ line: 3, col: 19, path: 'ssh.privateKeyFile', found: 'a public key (use the file without .pub)' });

    const [enc] = await issuesOf(loadScenarioText(scenario('keys/locked'), join(tmp, 's.yaml')));
    expect(enc!.found).toMatch(/cannot read as a key.*(encrypted|passphrase)/i);
    expect(enc!.found).not.toContain('secret');
  });
});
