// README: "`npm run demo` runs `harness setup` (as root it `apt-get install`s what is missing ...; without root it
// prints the exact command and stops), builds the offline tiny image". For real, three ways:
// - on this host as the non-root user `harness-readme`: what dpkg says is missing is exactly what setup names (with
//   `sudo sh -c '...'`, exit 3), or, when nothing is, it says so and builds the user's tiny image;
// - in a bare Debian 12 container (mmdebstrap minbase with every package setup wants but xorriso, setup-rootfs.ts)
//   as nobody: exit 3 with the exact `sudo sh -c 'apt-get update && apt-get install -y xorriso'`;
// - in the same container as root: setup apt-get installs xorriso from deb.debian.org and builds the tiny image,
//   which needs it (grub-mkrescue writes the ISO with xorriso). The .debs for the image are seeded from the project
//   cache, so the only download is apt's.
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { HOST_PACKAGES } from '../../harness/cli/commands/setup.js';
import { harnessPaths } from '../../harness/paths.js';
import { output, PROJECT } from './sandbox.js';
import { ensureSetupRootfs, harnessInContainer, rootfsUnavailable, type Rootfs } from './setup-rootfs.js';
import { makeUserSandbox, userSwitchUnavailable, type UserSandbox } from './test-user.js';

const LEFT_OUT = 'xorriso';

/** The HOST_PACKAGES packages dpkg does not list as installed here. */
async function notInstalled(): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of Object.keys(HOST_PACKAGES)) {
    const r = await execa('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { reject: false });
    if (!String(r.stdout).startsWith('ii')) missing.push(pkg);
  }
  return missing;
}

/** An ISO 9660 image has "CD001" at byte 0x8001. */
async function isIso9660(path: string): Promise<boolean> {
  const f = await open(path);
  try {
    const b = Buffer.alloc(5);
    await f.read(b, 0, 5, 0x8001);
    return b.toString('latin1') === 'CD001';
  } finally {
    await f.close();
  }
}

/** Copies the project cache's .debs (and apt's resolved versions) into `cache`/debs. */
async function seedDebs(cache: string): Promise<void> {
  const from = join(harnessPaths().cache, 'debs');
  await mkdir(join(cache, 'debs'), { recursive: true });
  for (const f of await readdir(from)) if (f.endsWith('.deb') || f === 'resolved.json') await copyFile(join(from, f), join(cache, 'debs', f));
}

describeReal('README: harness setup as a non-root user on this host', await userSwitchUnavailable(), () => {
  let sb: UserSandbox;
  beforeAll(async () => {
    sb = await makeUserSandbox('setup', { seedDebs: true });
    await execa('node', [join(PROJECT, 'bin/harness.js'), '--help'], { cwd: PROJECT }); // bundle as root (see test-user.ts)
  });
  afterAll(async () => sb?.dispose());

  itReal('names exactly the packages dpkg lacks with the sudo command, or says all are present and builds the image', undefined, async () => {
    const missing = await notInstalled();
    const t = performance.now();
    const r = await sb.cli(['setup']);
    console.log(`harness setup as non-root on the host: ${((performance.now() - t) / 1000).toFixed(1)}s (dpkg lacks: ${missing.join(' ') || 'nothing'})`);
    if (missing.length) {
      expect(r.exitCode, output(r)).toBe(3);
      expect(String(r.stderr)).toContain(`missing: ${missing.join(', ')}\n  fix: sudo sh -c 'apt-get update && apt-get install -y ${missing.join(' ')}'`);
    } else {
      expect(r.exitCode, output(r)).toBe(0);
      expect(String(r.stderr)).toContain('harness setup: host packages present');
      const iso = /harness setup: tiny image (?:built|cached): (\S+)$/m.exec(String(r.stderr))?.[1];
      expect(iso, output(r)).toMatch(new RegExp(`^${sb.dir}/cache/images/[0-9a-f]{64}/tiny\\.iso$`));
      expect(await isIso9660(iso!)).toBe(true);
    }
  }, 300_000);
});

describeReal('README: harness setup on a bare Debian 12 (container)', await rootfsUnavailable(), () => {
  let rootfs: Rootfs;
  let work: string;

  beforeAll(async () => {
    const t = performance.now();
    rootfs = await ensureSetupRootfs([LEFT_OUT]);
    console.log(`setup rootfs ${rootfs.image}: ${rootfs.built ? 'mmdebstrap + docker import' : 'reused'} ${((performance.now() - t) / 1000).toFixed(1)}s`);
    work = await mkdtemp(join(tmpdir(), 'harness-readme-setup-'));
    await execa('node', [join(PROJECT, 'bin/harness.js'), '--help'], { cwd: PROJECT }); // the bundle /project (read-only) will use
  }, 900_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  itReal(`as non-root: exit 3 and the exact sudo command for ${LEFT_OUT}`, undefined, async () => {
    const t = performance.now();
    const r = await harnessInContainer(['setup'], { image: rootfs.image, user: '65534:65534' });
    console.log(`harness setup as nobody in the container: ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r.exitCode, output(r)).toBe(3);
    expect(String(r.stderr)).toContain(`harness setup: host packages is not available: missing: ${LEFT_OUT}\n  fix: sudo sh -c 'apt-get update && apt-get install -y ${LEFT_OUT}'`);
    expect(String(r.stderr)).not.toContain('building tiny image');
  }, 300_000);

  itReal(`as root: apt-get installs ${LEFT_OUT} and builds the tiny image with it`, undefined, async () => {
    const cache = join(work, 'cache');
    await seedDebs(cache);
    const t = performance.now();
    const r = await harnessInContainer(['setup'], { image: rootfs.image, mounts: { [cache]: '/cache' }, env: { HARNESS_CACHE_DIR: '/cache' } });
    console.log(`harness setup as root in the container (apt-get update + install ${LEFT_OUT} + image build): ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r.exitCode, output(r)).toBe(0);
    const err = String(r.stderr);
    expect(err).toContain(`harness setup: installing ${LEFT_OUT}\n`);
    expect(String(r.stdout)).toMatch(new RegExp(`^Setting up ${LEFT_OUT} `, 'm'));
    expect(err).toContain('harness setup: making ISO (grub-mkrescue)');
    const iso = /^harness setup: tiny image built: \/cache\/(images\/[0-9a-f]{64}\/tiny\.iso)$/m.exec(err)?.[1];
    expect(iso, output(r)).toBeDefined();
    expect(await isIso9660(join(cache, iso!))).toBe(true);
  }, 600_000);
});
