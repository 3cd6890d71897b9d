// `harness iso` end to end through main(): a real tiny build copied out, then list and prune of the cache,
// and the usage errors (exit 2).
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCache, userKey } from '../../../iso/tiny/test-support.js';
import { main } from '../main.js';
import { parseAge } from './iso.js';
import { cacheKey, getOrBuild } from '../../../iso/cache.js';
import { fetchVerified } from '../../../iso/cloud-init/download.js';

let cache: Awaited<ReturnType<typeof testCache>>;
let dir: string;
const key = userKey('cli-test');

beforeAll(async () => {
  cache = await testCache();
  dir = await mkdtemp(join(tmpdir(), 'iso-cli-test-'));
  await writeFile(join(dir, 'me.pub'), key.publicKey + '\n');
  await writeFile(join(dir, 'me'), key.privateKey, { mode: 0o600 });
});
afterAll(async () => {
  await cache?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function harness(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(['iso', ...argv], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    env: { ...process.env, HARNESS_CACHE_DIR: cache.cacheDir, HARNESS_KEYS_DIR: join(dir, 'keys') },
    cwd: dir,
    isTTY: false,
  });
  return { code, out, err };
}

describe('harness iso', () => {
  it('build copies the ISO out and prints the host key to pin; list and prune manage the cache', async () => {
    const built = await harness('build', '--builder', 'tiny', '--ssh-key', 'me.pub', '-o', 'out.iso');
    expect(built.err).toContain('built tiny image');
    expect(built.code).toBe(0);
    const hostKey = /^host key: (ssh-ed25519 \S+ .*)$/m.exec(built.out)?.[1];
    expect(hostKey).toBeDefined();

    const listed = await harness('list', '--json');
    expect(listed.code).toBe(0);
    const images = JSON.parse(listed.out) as Array<{ key: string; path: string; hostPublicKey: string; builder: string }>;
    expect(images).toHaveLength(1);
    expect(images[0]!.hostPublicKey).toBe(hostKey);
    expect((await stat(join(dir, 'out.iso'))).size).toBe((await stat(images[0]!.path)).size);
    // Buffer.equals, not toEqual: deep-equality over a 20 MB buffer takes minutes and gigabytes.
    expect((await readFile(join(dir, 'out.iso'))).equals(await readFile(images[0]!.path))).toBe(true);

    const table = await harness('list');
    expect(table.out).toMatch(new RegExp(`^KEY +KIND +BUILDER +SIZE`, 'm'));
    expect(table.out).toContain(images[0]!.key.slice(0, 12));

    // An entry last used 40 days ago (made through the cache's own API, its mtime set back) goes; the image
    // just built stays.
    const old = await getOrBuild(cache.cacheDir, cacheKey({ test: 'old entry' }), async (tmp) => {
      await writeFile(join(tmp, 'old.iso'), 'an old image\n');
      return { builder: 'tiny', inputs: {}, artifact: 'old.iso' };
    });
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await utimes(old.dir, longAgo, longAgo);
    expect((await harness('list')).out).toContain(old.key.slice(0, 12));
    const byAge = await harness('prune', '--older-than', '30d');
    expect(byAge.out).toContain(`removed ${old.key}\n`);
    expect(byAge.out).not.toContain(`removed ${images[0]!.key}`);
    expect(byAge.out).toMatch(/^1 removed, 0 in use$/m);
    expect(JSON.parse((await harness('list', '--json')).out).map((i: { key: string }) => i.key)).toEqual([images[0]!.key]);
    await expect(stat(old.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    const pruned = await harness('prune', '--all');
    expect(pruned.out).toContain(`removed ${images[0]!.key}`);
    expect((await harness('list')).out).toBe('no cached images\n');
  }, 600_000);

  it('list shows downloaded cloud images with their URL; prune keeps one a VM disk stands on until the VM goes', async () => {
    const own = await mkdtemp(join(tmpdir(), 'iso-cli-downloads-'));
    try {
      const env = { ...process.env, HARNESS_CACHE_DIR: join(own, 'cache'), HARNESS_VMS_DIR: join(own, 'vms') };
      const run = async (...argv: string[]) => {
        let out = '';
        const code = await main(['iso', ...argv], { out: (s) => (out += s), err: () => undefined, env, cwd: own, isTTY: false });
        return { code, out };
      };
      const src = join(own, 'debian-12.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', src, '1M']);
      const sha = createHash('sha256').update(await readFile(src)).digest('hex');
      const url = pathToFileURL(src).href;
      const base = await fetchVerified(url, sha, join(own, 'cache'));

      const json = JSON.parse((await run('list', '--json')).out) as Array<{ kind: string; sha256: string; url: string; path: string; size: number }>;
      expect(json).toEqual([expect.objectContaining({ kind: 'download', sha256: sha, url, path: base })]);
      const table = (await run('list')).out;
      expect(table).toMatch(new RegExp(`^${sha.slice(0, 12)} +download +- +\\d+\\.\\dM .* ${base} <- ${url}$`, 'm'));

      // A VM whose disk is an overlay on the download (as qemu makes it; preserve-disk leaves only this file).
      await mkdir(join(own, 'vms', 'web'), { recursive: true });
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', join(own, 'vms', 'web', 'disk.qcow2')]);
      const kept = await run('prune', '--all');
      expect(kept.out).toContain(`kept download ${sha} (${url}) (in use by VM web in ${join(own, 'vms')})`);
      expect(kept.out).toContain('0 removed, 1 in use');
      expect((await stat(base)).isFile()).toBe(true);

      await rm(join(own, 'vms', 'web'), { recursive: true });
      const pruned = await run('prune', '--all');
      expect(pruned.out).toContain(`removed download ${sha} (${url})`);
      expect((await run('list')).out).toBe('no cached images\n');
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('refuses a private key file given as --ssh-key', async () => {
    const r = await harness('build', '--builder', 'tiny', '--ssh-key', 'me', '-o', 'x.iso');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/expected a public key.*found a private key/);
    expect(r.err).not.toContain(key.privateKey.split('\n')[1]!);
  });

  it.each([
    [[], 'missing subcommand'],
    [['frob'], 'unknown subcommand "frob"'],
    [['build', '-o', 'x.iso'], 'missing --builder tiny'],
    [['build', '--builder', 'tiny'], 'missing -o OUT.iso'],
    [['prune'], 'say what to prune'],
    [['prune', '--older-than', '3 weeks'], 'expected a duration such as 30d'],
    [['list', '--bogus'], "Unknown option '--bogus'"],
  ])('usage error for %j: exit 2 saying %s', async (argv, message) => {
    const r = await harness(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain('usage:');
  });

  it('parses ages in days, hours, minutes and seconds', () => {
    expect(parseAge('30d')).toBe(30 * 86_400_000);
    expect(parseAge('1.5h')).toBe(5_400_000);
    expect(parseAge('90m')).toBe(5_400_000);
    expect(parseAge('45s')).toBe(45_000);
  });
});
