// `harness run FILE.ts`: a module's default export becomes the scenario, validated once, and every way a module can
// be wrong is a ScenarioError (exit 2) naming the file. The modules import defineScenario by absolute path, so tsx
// loads a second copy of the harness for them: its ScenarioError and its mark must still be recognised.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ScenarioError } from '../errors.js';
import { loadScenarioModule, loadScenarioPath } from './load-module.js';

const DEFINE = join(import.meta.dirname, 'define.ts');
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'harness.js');
// An ES module package, as a project with "type": "module" (tsx maps its frames back to .ts lines); cjs/ is a
// CommonJS package, where tsx runs a .ts file from a data: URL whose frames name no file.
const dir = mkdtempSync(join(tmpdir(), 'harness-scenario-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
mkdirSync(join(dir, 'cjs'));
writeFileSync(join(dir, 'cjs', 'package.json'), '{"type": "commonjs"}\n');
const hostMemoryBytes = 8 * 1024 ** 3;

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function errorOf(p: Promise<unknown>): Promise<ScenarioError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ScenarioError);
  return e as ScenarioError;
}

const body = `{ name: 'mod', vms: { box: { memory: '256M' } }, steps: [{ name: 'in', on: 'box', copyTo: { from: 'data.txt', to: '/tmp/d' } }, { name: 'k', on: 'box', run: 'uname -s', expect: { stdout: 'Linux' } }] }`;
writeFileSync(join(dir, 'data.txt'), 'x');
writeFileSync(join(dir, 'cjs', 'data.txt'), 'x');

describe('scenario modules', () => {
  it('takes `export default defineScenario(...)` as it is: ms defaults, compiled matchers, paths beside the file', async () => {
    const file = write('defined.ts', `import { defineScenario } from ${JSON.stringify(DEFINE)};\nconst timeout: number = 1;\nexport default defineScenario(${body});\n`);
    const loaded = await loadScenarioModule(file, { hostMemoryBytes });
    expect(loaded).toMatchObject({ file, dir });
    expect(loaded.scenario.vms.box).toMatchObject({ bootTimeout: 180_000, memory: 256 * 1024 ** 2 });
    expect(loaded.scenario.steps).toMatchObject([{ copyTo: { from: join(dir, 'data.txt') } }, { expect: { stdout: { kind: 'substring', text: 'Linux' } } }]);
  });

  it('validates a plain default export (.mjs too) as if defineScenario were called in that file', async () => {
    const file = write('plain.mjs', `export default ${body};\n`);
    const loaded = await loadScenarioPath(file, { hostMemoryBytes });
    expect(loaded).toMatchObject({ file, dir, scenario: { name: 'mod', steps: [{ copyTo: { from: join(dir, 'data.txt') } }, {}] } });
    const bad = write('plain-bad.ts', `export default { name: 'BAD NAME', vms: { box: { memory: '2GB' } } };\n`);
    const err = await errorOf(loadScenarioModule(bad, { hostMemoryBytes }));
    expect(err.issues.map((i) => [i.file, i.path])).toEqual([
      [bad, 'name'],
      [bad, 'vms.box.memory'],
    ]);
  });

  // (Its line is checked through the real CLI below: inside vitest, vitest's stack traces skip tsx's source maps.)
  it("a defineScenario in the module that refuses its input: the module's own ScenarioError, as ours", async () => {
    const file = write('refused.ts', `import { defineScenario } from ${JSON.stringify(DEFINE)};\n\nexport default defineScenario({ name: 'r', vms: { box: { memory: '2GB' } } });\n`);
    const err = await errorOf(loadScenarioModule(file));
    expect(err.issues).toEqual([expect.objectContaining({ file, path: 'vms.box.memory', found: 'string "2GB"' })]);
    expect(err.exitCode).toBe(2);
  });

  it('no default export, a function, a syntax error, a throwing module, no file: each a ScenarioError naming the file', async () => {
    const none = write('none.ts', `export const scenario = 1;\nexport function helper() {}\n`);
    expect((await errorOf(loadScenarioModule(none))).issues[0]).toMatchObject({ file: none, expected: 'a default export: `export default defineScenario({...})`', found: 'no default export (exports: helper, scenario)' });
    const fn = write('fn.ts', `export default () => ({ name: 'f' });\n`);
    expect((await errorOf(loadScenarioModule(fn))).issues[0]).toMatchObject({ file: fn, found: 'a function' });
    const syntax = write('syntax.ts', `export default {\n  name: 'x',\n  vms: { a: { ; } },\n};\n`);
    expect((await errorOf(loadScenarioModule(syntax))).issues[0]).toMatchObject({ file: syntax, line: 3, col: 14, expected: 'valid TypeScript', found: expect.stringMatching(/^a syntax error: Expected identifier/) });
    const throws = write('throws.ts', `throw new RangeError('no scenario today');\n`);
    expect((await errorOf(loadScenarioModule(throws))).issues[0]).toMatchObject({ file: throws, found: 'an error while loading it (RangeError: no scenario today)' });
    expect((await errorOf(loadScenarioModule(join(dir, 'absent.ts')))).issues[0]).toMatchObject({ found: 'no such file' });
  });

  it('in a CommonJS package: the same scenario, errors name the file (tsx gives no line there)', async () => {
    const file = write('cjs/defined.ts', `import { defineScenario } from ${JSON.stringify(DEFINE)};\nexport const other = 1;\nexport default defineScenario(${body});\n`);
    const loaded = await loadScenarioModule(file, { hostMemoryBytes });
    expect(loaded).toMatchObject({ file, dir: join(dir, 'cjs') });
    expect(loaded.scenario.vms.box!.bootTimeout).toBe(180_000);
    expect(loaded.scenario.steps[0]).toMatchObject({ copyTo: { from: join(dir, 'cjs', 'data.txt') } });
    const refused = write('cjs/refused.ts', `import { defineScenario } from ${JSON.stringify(DEFINE)};\nexport default defineScenario({ name: 'r', vms: { box: { memory: '2GB' } } });\n`);
    expect((await errorOf(loadScenarioModule(refused))).issues).toEqual([expect.objectContaining({ file: refused, path: 'vms.box.memory' })]);
    const none = write('cjs/none.ts', `export const scenario = 1;\n`);
    expect((await errorOf(loadScenarioModule(none))).issues[0]).toMatchObject({ file: none, found: 'no default export (exports: scenario)' });
  });

  it('loadScenarioPath still reads anything else as YAML', async () => {
    const file = write('s.yaml', `name: y\nvms: { box: { bootTimeout: 3m } }\n`);
    expect((await loadScenarioPath(file)).scenario.vms.box!.bootTimeout).toBe(180_000);
  });

  it('the real CLI: `harness run bad.ts` exits 2 with file:line of the call (source-mapped) and creates nothing', async () => {
    const work = mkdtempSync(join(tmpdir(), 'harness-cli-module-'));
    try {
      // The types before the call vanish when tsx compiles the file: line 5 is only right through the source map.
      const file = write('cli-refused.ts', `import { defineScenario } from ${JSON.stringify(DEFINE)};\ninterface Unused {\n  a: number;\n}\nexport default defineScenario({ name: 'r', vms: { box: { cpus: 0 } } });\n`);
      const env = { HARNESS_PROJECT_DIR: work, HARNESS_CACHE_DIR: join(work, 'cache'), HARNESS_KEYS_DIR: join(work, 'keys') };
      const r = await execa('node', [CLI, 'run', file], { cwd: work, env, reject: false, timeout: 60_000 });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${file}:5:`);
      expect(r.stderr).toContain('vms.box.cpus: expected from 1 to 64 CPUs');
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(readdirSync(work)).toEqual([]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 90_000);
});
