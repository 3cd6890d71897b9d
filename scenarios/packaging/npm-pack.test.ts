// The package as a user gets it: `npm pack` of this checkout (prepack builds dist/), the tarball installed into a
// fresh project with npm (dependencies from the npm cache where it has them, native ones compiled as for a user),
// and there, from node_modules only: the public names typecheck and import, `npx harness run` boots a tiny VM from a
// YAML scenario and from `export default defineScenario(...)` in a .ts file, and `npx vitest run` passes a suite
// using the fixture, the reporter and the global setup. State (vms/, the record, .harness/ keys and image cache)
// lands in the project; nothing is written into node_modules/vm-harness.
// The project gets its own image cache, seeded with the .debs this checkout already fetched (hard links), so the
// tiny image is built there offline with the project's own key, and nothing is left in the shared cache.
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, expect } from 'vitest';
import { qemuUnavailable } from '../../fixtures/backend-probes.js';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { harnessPaths } from '../../harness/paths.js';

const REPO = resolve(import.meta.dirname, '..', '..');
/** npm pack (with the dist build) and an install that compiles better-sqlite3 and ssh2 on 2 cores. */
const INSTALL_MS = 900_000;
/** One `harness run` or vitest run: the tiny image build (first run only) and one TCG boot, on a loaded machine. */
const BOOT_MS = 600_000;
/** tsc and plain imports in the project: no VM. */
const CHECK_MS = 120_000;

const versionOf = async (pkg: string) => (JSON.parse(await readFile(join(REPO, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

describeReal('the npm package in a fresh project', await qemuUnavailable(), () => {
  let work: string;
  let project: string;
  let tarballFiles: string[];
  /** Every file under node_modules/vm-harness right after the install. */
  let installed: string[];
  /** The environment of every command in the project: this suite's HARNESS_* overrides removed. */
  let env: Record<string, string>;

  const inProject = (cmd: string, args: string[], timeout: number) =>
    execa(cmd, args, { cwd: project, env, extendEnv: false, reject: false, timeout, all: true, stdin: 'ignore' });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-pack-'));
    project = join(work, 'app');
    env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('HARNESS_')));
    env.NO_COLOR = '1';

    const t0 = performance.now();
    const pack = await execa('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO, reject: false, timeout: INSTALL_MS, all: true });
    expect(pack.exitCode, pack.all).toBe(0);
    const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarballFiles = packed!.files.map((f) => f.path).sort();
    const tarball = join(work, packed!.filename);
    console.log(`npm pack: ${((performance.now() - t0) / 1000).toFixed(1)}s, ${tarballFiles.length} files`);

    await mkdir(project);
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'harness-consumer', private: true, type: 'module' }, null, 2)}\n`);
    await seedDebs(join(harnessPaths().cache, 'debs'), join(project, '.harness', 'cache', 'debs'));

    const t1 = performance.now();
    // vitest is an (optional) peer dependency: a project that uses the fixture has its own, and the fixture uses it.
    const pkgs = [tarball, `vitest@${await versionOf('vitest')}`, `typescript@${await versionOf('typescript')}`, `@types/node@${await versionOf('@types/node')}`];
    const install = await inProject('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...pkgs], INSTALL_MS);
    expect(install.exitCode, install.all).toBe(0);
    console.log(`npm install: ${((performance.now() - t1) / 1000).toFixed(1)}s`);
    installed = await filesUnder(join(project, 'node_modules', 'vm-harness'));
  }, INSTALL_MS);

  afterAll(async () => {
    // A VM a failed assertion left running: clean it through the project's own CLI before removing the project.
    if (project) for (const name of await vmDirs(project)) await inProject('npx', ['harness', 'vm', 'clean', name], 120_000);
    if (work) await rm(work, { recursive: true, force: true });
  }, 300_000);

  itReal('the tarball holds the built entry points, their types and the bin; no TypeScript sources', undefined, () => {
    for (const f of ['package.json', 'README.md', 'bin/harness.js', 'dist/index.js', 'dist/vitest.js', 'dist/vitest-reporter.js', 'dist/vitest-setup.js', 'dist/cli.js', 'dist/types/api/index.d.ts', 'dist/types/api/vitest.d.ts']) {
      expect(tarballFiles).toContain(f);
    }
    expect(tarballFiles.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(tarballFiles.filter((f) => !/^(dist\/|bin\/harness\.js$|package\.json$|README\.md$)/.test(f))).toEqual([]);
  });

  itReal('a .ts file using the public names typechecks (strict, declarations checked too, the real types: a misuse is an error), and they import in plain Node', undefined, async () => {
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, include: ['check.ts'] }));
    await writeFile(join(project, 'check.ts'), CHECK_TS);
    const tsc = await inProject('npx', ['tsc', '-p', 'tsconfig.json'], CHECK_MS);
    expect(tsc.exitCode, tsc.all).toBe(0);

    await writeFile(join(project, 'check.mjs'), CHECK_MJS);
    const node = await inProject('node', ['check.mjs'], CHECK_MS);
    expect(node.exitCode, node.all).toBe(0);
    expect(JSON.parse(node.stdout)).toEqual({
      lib: expect.arrayContaining(['AssertionFailed', 'BootTimeout', 'HarnessError', 'ProviderUnavailable', 'RunningVm', 'ScenarioError', 'VmExited', 'defineScenario']),
      fixture: ['defineScenario', 'useScenario'],
      reporter: 'function',
      setup: 'function',
      bootTimeout: 180_000,
      sameDefine: true,
      exitCode: 2,
    });
  }, CHECK_MS);

  itReal('`npx harness run scenario.yaml` boots a VM and passes; vms/, the record and .harness/ are the project\'s', undefined, async () => {
    await writeFile(join(project, 'scenario.yaml'), SCENARIO_YAML);
    const t0 = performance.now();
    const r = await inProject('npx', ['harness', 'run', 'scenario.yaml', '--json'], BOOT_MS);
    console.log(`npx harness run scenario.yaml (image build + boot): ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.exitCode, r.all).toBe(0);
    const report = JSON.parse(r.stdout) as { status: string; steps: Array<{ name: string; status: string }> };
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['kernel answers', 'passed'],
      ['the guest writes', 'passed'],
    ]);
    expect(await recordedRuns(project)).toContainEqual({ scenario: 'packaged-yaml', status: 'passed', file: join(project, 'scenario.yaml') });
    expect((await readdir(join(project, '.harness', 'keys'))).sort()).toEqual(expect.arrayContaining(['id_ed25519', 'id_ed25519.pub']));
    expect((await readdir(join(project, '.harness', 'cache', 'images'))).filter((e) => !e.startsWith('.'))).toHaveLength(1);
    expect(await vmDirs(project)).toEqual([]); // destroyed
  }, BOOT_MS);

  itReal('`npx harness run scenario.ts` runs `export default defineScenario(...)` imported from the package', undefined, async () => {
    await writeFile(join(project, 'scenario.ts'), SCENARIO_TS);
    const r = await inProject('npx', ['harness', 'run', 'scenario.ts', '--json'], BOOT_MS);
    expect(r.exitCode, r.all).toBe(0);
    const report = JSON.parse(r.stdout) as { steps: Array<{ name: string; status: string; stdoutTail?: string }> };
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([['boot timeout kept in ms', 'passed']]);
    expect(await recordedRuns(project)).toContainEqual({ scenario: 'packaged-ts', status: 'passed', file: join(project, 'scenario.ts') });
    expect(await vmDirs(project)).toEqual([]);
  }, BOOT_MS);

  itReal('`npx vitest run` passes a suite using the fixture, the reporter and the global setup from the package', undefined, async () => {
    await writeFile(join(project, 'vitest.config.ts'), VITEST_CONFIG);
    await writeFile(join(project, 'vm.test.ts'), VITEST_SUITE);
    const t0 = performance.now();
    const r = await inProject('npx', ['vitest', 'run'], BOOT_MS);
    console.log(`npx vitest run (one boot): ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/Tests\s+2 passed/);
    const runs = await recordedRuns(project);
    // The reporter's run of the file and the fixture's run of the suite, both in the project's record.
    expect(runs).toContainEqual({ scenario: 'vm', status: 'passed', file: 'vm.test.ts' });
    expect(runs).toContainEqual({ scenario: 'packaged-fixture', status: 'passed', file: join(project, 'vm.test.ts') });
  }, BOOT_MS);

  itReal('nothing was written into node_modules/vm-harness, and no state outside the project', undefined, async () => {
    expect(await filesUnder(join(project, 'node_modules', 'vm-harness'))).toEqual(installed);
    expect(installed.filter((f) => /^(\.harness|vms)\//.test(f))).toEqual([]);
    expect((await readdir(project)).sort()).toEqual(
      ['.harness', 'check.mjs', 'check.ts', 'node_modules', 'package-lock.json', 'package.json', 'scenario.ts', 'scenario.yaml', 'tsconfig.json', 'vitest.config.ts', 'vm.test.ts', 'vms'].sort(),
    );
  });
});

/** Hard links (a copy across filesystems) of the .debs this checkout fetched: the project's build needs no network. */
async function seedDebs(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from).catch(() => [] as string[])) {
    await link(join(from, name), join(to, name)).catch(() => copyFile(join(from, name), join(to, name)));
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

async function recordedRuns(project: string): Promise<Array<{ scenario: string; status: string; file: string }>> {
  const db = new Database(join(project, 'vms', 'harness.db'), { readonly: true });
  try {
    return db.prepare('SELECT scenario, status, file FROM runs ORDER BY started_at').all() as Array<{ scenario: string; status: string; file: string }>;
  } finally {
    db.close();
  }
}

async function vmDirs(project: string): Promise<string[]> {
  const entries = await readdir(join(project, 'vms'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

const SCENARIO_YAML = `name: packaged-yaml
vms:
  box: { memory: 256M, bootTimeout: 300s }
steps:
  - name: kernel answers
    on: box
    run: uname -s
    expect: { stdout: Linux }
  - name: the guest writes
    on: box
    run: echo ok > /tmp/ok && cat /tmp/ok
    expect: { stdout: ok }
teardown: destroy
`;

// The default boot timeout (180000 ms once validated) must reach the run as 180 s: the run would fail at once if the
// CLI validated the scenario again (read as seconds, over the 24 h cap).
const SCENARIO_TS = `import { defineScenario } from 'vm-harness';

interface Unused {
  why: string;
}

export default defineScenario({
  name: 'packaged-ts',
  vms: { box: { memory: '256M' } },
  steps: [{ name: 'boot timeout kept in ms', on: 'box', run: 'uname -s', expect: { stdout: 'Linux' } }],
});
`;

const VITEST_CONFIG = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['vm-harness/vitest-setup'],
    reporters: ['default', 'vm-harness/vitest-reporter'],
    hookTimeout: 600_000,
    testTimeout: 120_000,
  },
});
`;

const VITEST_SUITE = `import { expect, test } from 'vitest';
import { AssertionFailed, defineScenario } from 'vm-harness';
import { useScenario } from 'vm-harness/vitest';

// useScenario(defineScenario(...)): validated once, the default 180 s boot timeout stays 180 s.
const env = useScenario(defineScenario({ name: 'packaged-fixture', vms: { box: { memory: '256M' } } }));

test('the guest answers', async () => {
  expect(await env.vm('box').succeed('uname -s')).toContain('Linux');
  await env.vm('box').waitForPort(22);
});

test("a failing command is the package's AssertionFailed", async () => {
  await expect(env.vm('box').succeed('exit 3')).rejects.toBeInstanceOf(AssertionFailed);
});
`;

const CHECK_TS = `import { AssertionFailed, BootTimeout, defineScenario, HarnessError, RunningVm, ScenarioError, type DefinedScenario, type ExecResult, type Scenario } from 'vm-harness';
import { useScenario, type ScenarioHandle } from 'vm-harness/vitest';
import HarnessVitestReporter from 'vm-harness/vitest-reporter';
import buildImageOnce from 'vm-harness/vitest-setup';

const scenario: DefinedScenario = defineScenario({ name: 'typed', vms: { box: { memory: '256M' } } });
const plain: Scenario = scenario;
export const bootTimeoutMs: number = plain.vms['box']!.bootTimeout;
// @ts-expect-error cpus is a number: this line only compiles if the types are real (not any)
defineScenario({ name: 'typed', vms: { box: { cpus: 'two' } } });
export const succeed = (vm: RunningVm): Promise<string> => vm.succeed('true');
export const execute = (vm: RunningVm): Promise<ExecResult> => vm.execute('true');
// @ts-expect-error succeed takes a command string
export const misuse = (vm: RunningVm) => vm.succeed(42);
export const use: (s: DefinedScenario) => ScenarioHandle = useScenario;
export const kinds = (e: unknown): string => (e instanceof AssertionFailed ? 'step' : e instanceof BootTimeout ? 'boot' : e instanceof ScenarioError ? String(e.issues.length) : e instanceof HarnessError ? String(e.exitCode) : '?');
export const reporter = new HarnessVitestReporter({ db: 'x.db' });
export const setup: () => Promise<void> = buildImageOnce;
`;

const CHECK_MJS = `import * as lib from 'vm-harness';
import * as fixture from 'vm-harness/vitest';
import reporter from 'vm-harness/vitest-reporter';
import setup from 'vm-harness/vitest-setup';

const s = lib.defineScenario({ name: 'rt', vms: { box: {} } });
const err = (() => { try { lib.defineScenario({ name: 'BAD NAME' }); } catch (e) { return e; } })();
console.log(JSON.stringify({
  lib: Object.keys(lib).sort(),
  fixture: Object.keys(fixture).sort(),
  reporter: typeof reporter,
  setup: typeof setup,
  bootTimeout: s.vms.box.bootTimeout,
  sameDefine: fixture.defineScenario === lib.defineScenario && err instanceof lib.ScenarioError,
  exitCode: err.exitCode,
}));
`;
