// `--db FILE` means the same file for `harness run`, `harness runs` and `harness db`: like any command-line path,
// a relative one resolves against the working directory, even when HARNESS_PROJECT_DIR points elsewhere.
// The real CLI, on a scenario with no machines (it runs in about a second and records a run).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveDbPath } from '../store/db.js';
import { harnessPaths } from '../paths.js';

const cli = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'bin', 'harness.js');
let base: string;
let work: string;
let project: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'harness-db-path-'));
  work = join(base, 'work');
  project = join(base, 'project');
  mkdirSync(work);
  mkdirSync(project);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('--db resolution', () => {
  it('harnessPaths and resolveDbPath agree: a flag is cwd-relative, HARNESS_DB and the default are project-relative', () => {
    const env = { HARNESS_PROJECT_DIR: '/proj' };
    expect(harnessPaths(env, '/cwd', { db: 'rel.db' }).db).toBe('/cwd/rel.db');
    expect(resolveDbPath('rel.db', env, '/cwd')).toBe('/cwd/rel.db');
    expect(harnessPaths(env, '/cwd', { db: '/abs/x.db' }).db).toBe('/abs/x.db');
    expect(harnessPaths({ ...env, HARNESS_DB: 'env.db' }, '/cwd', { db: 'flag.db' }).db).toBe('/cwd/flag.db'); // flag wins
    expect(harnessPaths({ ...env, HARNESS_DB: 'env.db' }, '/cwd').db).toBe('/proj/env.db');
    expect(resolveDbPath(undefined, { ...env, HARNESS_DB: 'env.db' }, '/cwd')).toBe('/proj/env.db');
    expect(harnessPaths(env, '/cwd').db).toBe('/proj/vms/harness.db');
  });

  it('run, runs and db all use ./rel.db of the working directory', async () => {
    writeFileSync(join(work, 'empty.yaml'), 'name: empty\nsteps: []\n');
    const env = { HARNESS_PROJECT_DIR: project, HARNESS_KEYS_DIR: join(base, 'keys'), NO_COLOR: '1' };
    const harness = (...args: string[]) => execa('node', [cli, ...args], { cwd: work, env, reject: false, timeout: 60_000 });

    const run = await harness('run', 'empty.yaml', '--db', 'rel.db', '--reporter', 'json:out/run.json', '--json');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(existsSync(join(work, 'rel.db'))).toBe(true);
    expect(existsSync(join(project, 'rel.db'))).toBe(false);
    const runId = (JSON.parse(run.stdout) as { id: string }).id;

    const shown = await harness('runs', 'show', runId, '--db', 'rel.db');
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`report         ${join(work, 'out', 'run.json')}`); // the report file, recorded
    const status = await harness('db', 'status', '--json', '--db', 'rel.db');
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { path: string }).path).toBe(join(work, 'rel.db'));
    expect(existsSync(join(project, 'rel.db'))).toBe(false);
  }, 120_000);
});
