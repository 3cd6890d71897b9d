// State belongs to the project using the harness: the nearest package.json at or above the working directory,
// outside node_modules, else the working directory; HARNESS_* variables still move each location.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { harnessPaths, projectRoot } from './paths.js';

const base = mkdtempSync(join(tmpdir(), 'harness-paths-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const project = join(base, 'app');
mkdirSync(join(project, 'test', 'deep'), { recursive: true });
mkdirSync(join(project, 'node_modules', 'vm-harness', 'dist'), { recursive: true });
writeFileSync(join(project, 'package.json'), '{}');
writeFileSync(join(project, 'node_modules', 'vm-harness', 'package.json'), '{}');

describe('projectRoot', () => {
  it('is the nearest directory with a package.json at or above the working directory', () => {
    expect(projectRoot(project)).toBe(project);
    expect(projectRoot(join(project, 'test', 'deep'))).toBe(project);
  });

  it("never the harness's install dir: inside node_modules it is the project that installed the package", () => {
    expect(projectRoot(join(project, 'node_modules', 'vm-harness', 'dist'))).toBe(project);
  });

  it('the working directory itself when no package.json is above it', () => {
    const bare = join(base, 'bare', 'sub');
    mkdirSync(bare, { recursive: true });
    expect(projectRoot(bare, (p) => p.startsWith(project) && p.endsWith('package.json'))).toBe(bare);
  });
});

describe('harnessPaths', () => {
  it('puts vms/, the record, the image cache and the key under the project root', () => {
    expect(harnessPaths({}, join(project, 'test'))).toEqual({
      root: project,
      vms: join(project, 'vms'),
      db: join(project, 'vms', 'harness.db'),
      cache: join(project, '.harness', 'cache'),
      keys: join(project, '.harness', 'keys'),
    });
  });

  it('HARNESS_PROJECT_DIR and the other variables still win; --db is relative to the working directory', () => {
    const cwd = join(project, 'test');
    const p = harnessPaths({ HARNESS_PROJECT_DIR: '..', HARNESS_VMS_DIR: 'state', HARNESS_CACHE_DIR: '/var/cache/h' }, cwd, { db: 'x.db' });
    expect(p).toMatchObject({ root: project, vms: join(project, 'state'), cache: '/var/cache/h', db: join(cwd, 'x.db') });
  });
});
