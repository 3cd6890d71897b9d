// Image errors name where the config sits in the scenario, and cloud-init seeds are per VM: the helpers, and
// `harness run` end to end (in process) to prove the session hands the scenario file and the VM name to the builders.
import { execa } from 'execa';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ScenarioError } from '../harness/errors.js';
import { harnessPaths } from '../harness/paths.js';
import { main } from '../harness/cli/main.js';
import { listImages } from './cache.js';
import { readIso } from './cloud-init/read-iso.js';
import { guestHostName } from './host-name.js';
import { imageFieldLabel, relocateImageIssues } from './image-source.js';

describe('relocateImageIssues and imageFieldLabel', () => {
  it('moves image.* issues to the scenario file, full path and position; leaves other issues and errors alone', () => {
    const source = { file: '/s/x.yaml', path: ['vms', 'web', 'image'], locate: (p: readonly (string | number)[]) => ({ line: p.length, col: 3 }) };
    const e = new ScenarioError([
      { file: '(image config)', path: 'image.modules[2]', expected: 'a file', found: 'none' },
      { file: 'me.pub', line: 4, path: 'ssh key', expected: 'a key', found: 'junk' },
    ]);
    const moved = relocateImageIssues(e, source) as ScenarioError;
    expect(moved.issues).toEqual([
      { file: '/s/x.yaml', line: 5, col: 3, path: 'vms.web.image.modules[2]', expected: 'a file', found: 'none' },
      { file: 'me.pub', line: 4, path: 'ssh key', expected: 'a key', found: 'junk' },
    ]);
    expect(moved.message.split('\n')[0]).toBe('/s/x.yaml:5:3: vms.web.image.modules[2]: expected a file, found none');
    const other = new Error('boom');
    expect(relocateImageIssues(other, source)).toBe(other);
    expect(relocateImageIssues(e, undefined)).toBe(e);
    expect(imageFieldLabel({ source }, ['sha256'])).toBe('/s/x.yaml:4:3: vms.web.image.sha256');
    expect(imageFieldLabel({ source: { file: 'd.ts', path: ['vms', 'a b', 'image'] } }, ['base'])).toBe('d.ts: vms["a b"].image.base');
    expect(imageFieldLabel({}, ['base'])).toBeUndefined();
  });

  it('guestHostName makes an RFC 1123 label of a VM name', () => {
    expect(guestHostName('web')).toBe('web');
    expect(guestHostName('Web_Server.1')).toBe('web-server-1');
    expect(guestHostName('--x--')).toBe('x');
    expect(guestHostName('a'.repeat(80))).toHaveLength(63);
    expect(guestHostName('___')).toBe('harness');
    expect(guestHostName(undefined)).toBe('harness');
  });
});

describe('harness run hands the scenario file and the VM name to the image builders', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-source-run-'));
    env = { ...process.env, HARNESS_VMS_DIR: join(dir, 'vms'), HARNESS_CACHE_DIR: join(dir, 'cache'), HARNESS_KEYS_DIR: harnessPaths().keys, NO_COLOR: '1' };
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'blank.qcow2'), '16M']);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, yaml: string) {
    const file = join(dir, name);
    await writeFile(file, yaml);
    let out = '';
    const code = await main(['run', file], { out: (s) => (out += s), err: (s) => (out += s), env, cwd: dir, isTTY: false });
    return { code, out, file };
  }

  it('a missing NixOS module (exit 2) and a wrong sha256 (exit 3) name file:line:col and vms.<vm>.image.<field>', async () => {
    const nix = await run('nix.yaml', 'name: n\nvms:\n  web:\n    image:\n      builder: nixos\n      modules: [ ./gone.nix ]\nsteps: []\n');
    expect(nix.code, nix.out).toBe(2);
    expect(nix.out).toContain(`${nix.file}:6:18: vms.web.image.modules[0]: expected a NixOS module file that exists`);
    // (A missing local base is caught by the loader already; a wrong sha256 only shows when the image is read.)
    const wrong = 'e'.repeat(64);
    const cloud = await run('cloud.yaml', `name: c\nvms:\n  db:\n    image:\n      builder: cloud-init\n      base: ./blank.qcow2\n      sha256: ${wrong}\nsteps: []\n`);
    expect(cloud.code, cloud.out).toBe(3);
    expect(cloud.out).toContain(`${cloud.file}:7:15: vms.db.image.sha256: sha256 check failed for ${join(dir, 'blank.qcow2')}: expected ${wrong}`);
    for (const r of [nix, cloud]) expect(r.out).not.toContain('(image config)');
    expect((await readdir(join(dir, 'vms'), { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory())).toEqual([]);
  });

  it('two cloud-init VMs with the same keys get different seeds named after them', async () => {
    // A blank disk boots nowhere: the run ends in a boot timeout (exit 3) right after the seeds are built.
    const r = await run(
      'two.yaml',
      'name: two\nvms:\n  web: { image: { builder: cloud-init, base: ./blank.qcow2 }, memory: 128M, bootTimeout: 1s }\n  db: { image: { builder: cloud-init, base: ./blank.qcow2 }, memory: 128M, bootTimeout: 1s }\nsteps: []\n',
    );
    expect(r.code, r.out).toBe(3);
    const seeds = (await listImages(join(dir, 'cache'))).filter((i) => i.builder === 'cloud-init');
    expect(seeds.map((s) => s.inputs.vmName).sort()).toEqual(['db', 'web']);
    const metas = await Promise.all(seeds.map(async (s) => parse((await readIso(s.path)).files.get('meta-data')!.toString()) as Record<string, string>));
    expect(metas.map((m) => m['local-hostname']).sort()).toEqual(['db', 'web']);
    expect(new Set(metas.map((m) => m['instance-id'])).size).toBe(2);
    expect(new Set(seeds.map((s) => s.hostPublicKey)).size).toBe(2);
    expect((await readdir(join(dir, 'vms'), { withFileTypes: true })).filter((e) => e.isDirectory())).toEqual([]);
  }, 60_000);
});
