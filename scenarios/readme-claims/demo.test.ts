// README quick start: "`npm install && npm run demo`": `harness setup` (packages present here, so no apt), builds
// the offline tiny image, then runs scenarios/smoke.yaml: one VM boots, six steps run over SSH, the VM is destroyed.
// The real `npm run demo` as CI's user, sandboxed: fresh vms dir, record, key dir (the project key is generated) and
// image cache (seeded with the project cache's .debs, so the image is really built, without the network). One boot.
import { execa } from 'execa';
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { harnessPaths } from '../../harness/paths.js';
import { makeSandbox, output, PROJECT, qemuUnavailable, type Sandbox } from './sandbox.js';

const STEPS = ['kernel answers', 'sshd listens', 'dropbear runs', 'guest writes a file', 'file is there', 'a service comes up eventually'];

describeReal('README: npm run demo', await qemuUnavailable(), () => {
  let sb: Sandbox;
  let env: Record<string, string>;

  beforeAll(async () => {
    sb = await makeSandbox('demo');
    const cache = join(sb.root, 'cache');
    const from = join(harnessPaths().cache, 'debs');
    await mkdir(join(cache, 'debs'), { recursive: true });
    for (const f of await readdir(from)) if (f.endsWith('.deb') || f === 'resolved.json') await copyFile(join(from, f), join(cache, 'debs', f));
    env = { HARNESS_CACHE_DIR: cache, HARNESS_KEYS_DIR: join(sb.root, 'keys') };
  });
  afterAll(async () => sb?.dispose());

  itReal('setup finds the packages, builds the tiny image with a new project key, and the smoke scenario passes', undefined, async () => {
    const t = performance.now();
    const r = await execa('npm', ['run', 'demo'], { cwd: PROJECT, env: { ...sb.env, ...env }, reject: false, stdin: 'ignore' });
    console.log(`npm run demo (setup + image build + smoke run): ${((performance.now() - t) / 1000).toFixed(1)}s`);
    const all = output(r);
    expect(r.exitCode, all).toBe(0);
    expect(all).toContain('harness setup: host packages present');
    expect(all).not.toContain('harness setup: installing');
    expect(all).toMatch(new RegExp(`^harness setup: tiny image built: ${env.HARNESS_CACHE_DIR}/images/[0-9a-f]{64}/tiny\\.iso$`, 'm'));
    // The smoke run reuses what setup built: no second build.
    expect(all).toMatch(/\[server\] image tiny: reused from cache/);
    STEPS.forEach((name, i) => expect(all).toContain(`[server] PASS step ${i + 1} "${name}"`));
    expect(all).toContain('[server] teardown (destroy): destroyed');
    expect(all).toMatch(/^Summary: smoke PASSED in .* \(exit 0\)$/m);
    expect(all).toContain('6 steps (6 passed, 0 failed, 0 skipped)');

    // A fresh project key, private part 0600; nothing of the VM left.
    const keys = await readdir(env.HARNESS_KEYS_DIR!);
    expect(keys.length, keys.join(' ')).toBeGreaterThan(0);
    for (const k of keys.filter((f) => !f.endsWith('.pub'))) expect((await stat(join(env.HARNESS_KEYS_DIR!, k))).mode & 0o777).toBe(0o600);
    expect(await sb.vmDirs()).toEqual([]);
    expect(await sb.processes()).toEqual([]);
  }, 600_000);
});
