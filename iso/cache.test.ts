// The image cache against the real file system and real lock files: one build per key under concurrency
// (in one process and across processes), no half-written entries, failed builds leave nothing, and pruning
// never removes an entry whose lock is held.
import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../harness/lock.js';
import { cacheKey, getOrBuild, imagesDir, listImages, pruneImages, readEntry } from './cache.js';

let cacheDir: string;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'harness-cache-test-'));
});
afterEach(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A cheap stand-in for an image build: writes an artifact in two steps with a pause between. */
function fakeBuild(counter: { n: number }, seen: { partial: boolean }) {
  return async (tmp: string) => {
    counter.n++;
    await writeFile(join(tmp, 'img.iso'), 'first half ');
    await sleep(150);
    // Nobody may see the entry while we are half way.
    if (await readEntry(cacheDir, key)) seen.partial = true;
    await writeFile(join(tmp, 'img.iso'), 'first half second half');
    return { builder: 'fake', artifact: 'img.iso', inputs: { n: 1 }, hostPublicKey: 'ssh-ed25519 AAAAfake' };
  };
}
const key = cacheKey({ builder: 'fake', v: 1 });

describe('getOrBuild', () => {
  it('builds exactly once when 20 callers ask for the same key at once, and all get the complete entry', async () => {
    const counter = { n: 0 };
    const seen = { partial: false };
    const results = await Promise.all(Array.from({ length: 20 }, () => getOrBuild(cacheDir, key, fakeBuild(counter, seen))));
    expect(counter.n).toBe(1);
    expect(seen.partial).toBe(false);
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(results.filter((r) => !r.reused)).toHaveLength(1);
    for (const r of results) expect(await readFile(r.path, 'utf8')).toBe('first half second half');
    const meta = JSON.parse(await readFile(join(imagesDir(cacheDir), key, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ key, builder: 'fake', artifact: 'img.iso', hostPublicKey: 'ssh-ed25519 AAAAfake', size: 22 });
    expect(Date.parse(meta.created)).not.toBeNaN();
    // No temp dirs left behind.
    expect((await readdir(imagesDir(cacheDir))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('builds once across separate processes too (the lock is on disk, not in memory)', async () => {
    const script = join(cacheDir, 'builder.mts');
    const cacheModule = new URL('./cache.ts', import.meta.url).pathname;
    await writeFile(
      script,
      `import { getOrBuild } from ${JSON.stringify(cacheModule)};
       import { appendFile, writeFile } from 'node:fs/promises';
       import { join } from 'node:path';
       const [dir, key, log] = process.argv.slice(2);
       const e = await getOrBuild(dir, key, async (tmp) => {
         await appendFile(log, 'built\\n');
         await new Promise((r) => setTimeout(r, 300));
         await writeFile(join(tmp, 'x.iso'), 'x');
         return { builder: 'fake', artifact: 'x.iso', inputs: {} };
       });
       console.log(e.path);`,
    );
    const log = join(cacheDir, 'builds.log');
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
    const runs = await Promise.all(Array.from({ length: 4 }, () => execa(tsx, [script, cacheDir, key, log])));
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['built']);
    expect(new Set(runs.map((r) => r.stdout.trim()))).toEqual(new Set([join(imagesDir(cacheDir), key, 'x.iso')]));
  });

  it('removes the temp dir and releases the lock when the build fails, so the next caller builds', async () => {
    await expect(
      getOrBuild(cacheDir, key, async (tmp) => {
        await writeFile(join(tmp, 'junk'), 'x');
        throw new Error('build broke');
      }),
    ).rejects.toThrow('build broke');
    expect(await readEntry(cacheDir, key)).toBeUndefined();
    expect((await readdir(imagesDir(cacheDir))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    const counter = { n: 0 };
    const entry = await getOrBuild(cacheDir, key, fakeBuild(counter, { partial: false }));
    expect(counter.n).toBe(1);
    expect(entry.reused).toBe(false);
  });
});

describe('cacheKey', () => {
  it('is the same for the same inputs whatever the property order, and differs when any input differs', () => {
    const a = cacheKey({ builder: 'tiny/1', authorizedKeys: ['ssh-ed25519 AAAA1'], packages: { x: '1', y: '2' } });
    const b = cacheKey({ packages: { y: '2', x: '1' }, authorizedKeys: ['ssh-ed25519 AAAA1'], builder: 'tiny/1' });
    const c = cacheKey({ builder: 'tiny/1', authorizedKeys: ['ssh-ed25519 AAAA2'], packages: { x: '1', y: '2' } });
    const d = cacheKey({ builder: 'tiny/1', authorizedKeys: ['ssh-ed25519 AAAA1'], packages: { x: '1', y: '3' } });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
    expect(new Set([a, c, d]).size).toBe(3);
  });
});

describe('listImages and pruneImages', () => {
  async function entry(k: string, lastUsedMsAgo: number) {
    const e = await getOrBuild(cacheDir, k, async (tmp) => {
      await writeFile(join(tmp, 'a.iso'), k);
      return { builder: 'fake', artifact: 'a.iso', inputs: {} };
    });
    const t = new Date(Date.now() - lastUsedMsAgo);
    await utimes(e.dir, t, t);
    return e;
  }

  it('lists complete entries only, and prunes by last use, skipping an entry whose lock is held', async () => {
    const day = 86_400_000;
    const [oldA, oldB, fresh] = [cacheKey('a'), cacheKey('b'), cacheKey('c')];
    await entry(oldA, 40 * day);
    await entry(oldB, 40 * day);
    await entry(fresh, 1 * day);
    // A build in progress: a temp dir holding a half-written file, and its lock held.
    const building = cacheKey('d');
    const release = await acquireLock(join(imagesDir(cacheDir), `.${building}.lock`), 'test');
    const tmp = join(imagesDir(cacheDir), `.tmp-${building.slice(0, 12)}-x`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    // And an old entry that someone is reusing right now (lock held).
    const releaseB = await acquireLock(join(imagesDir(cacheDir), `.${oldB}.lock`), 'test');
    try {
      expect((await listImages(cacheDir)).map((i) => i.key).sort()).toEqual([oldA, oldB, fresh].sort());
      const r = await pruneImages(cacheDir, { olderThanMs: 30 * day });
      expect(r.removed).toEqual([oldA]);
      expect(r.skippedLocked).toEqual([oldB]);
      expect((await listImages(cacheDir)).map((i) => i.key).sort()).toEqual([oldB, fresh].sort());
      expect((await readdir(imagesDir(cacheDir))).includes(tmp.split('/').pop()!)).toBe(true);
    } finally {
      await release();
      await releaseB();
    }
    // Lock released: --all takes everything, including the orphaned temp dir.
    const all = await pruneImages(cacheDir, { all: true });
    expect(all.removed.sort()).toEqual([oldB, fresh].sort());
    expect(await listImages(cacheDir)).toEqual([]);
    expect((await readdir(imagesDir(cacheDir))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});
