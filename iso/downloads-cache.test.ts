// The download cache (cloud images fetched by URL + sha256) against the real file system, real lock files and
// real qcow2 overlays made by qemu-img: listed with their source URL, pruned by last use, and never pruned while
// a download is in progress (lock held) or while a VM's disk overlay still stands on it.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../harness/lock.js';
import { fetchVerified } from './cloud-init/download.js';
import { downloadLockPath, downloadsDir, listDownloads, pruneDownloads } from './downloads-cache.js';
import { cachePathsInUse } from './in-use.js';
import { qcow2BackingChain, qcow2BackingFile } from './qcow2-backing.js';

let root: string;
let cacheDir: string;
let vmsDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'harness-downloads-test-'));
  cacheDir = join(root, 'cache');
  vmsDir = join(root, 'vms');
  await mkdir(vmsDir, { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const day = 86_400_000;

/** A real (empty) qcow2 served as file://URL and fetched through fetchVerified, then aged `daysAgo`. */
async function download(name: string, daysAgo: number): Promise<{ path: string; sha256: string; url: string }> {
  const src = join(root, 'src', name);
  await mkdir(join(root, 'src'), { recursive: true });
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', src, `${1 + (await readdir(join(root, 'src'))).length}M`]);
  const sha256 = createHash('sha256').update(await readFile(src)).digest('hex');
  const url = pathToFileURL(src).href;
  const path = await fetchVerified(url, sha256, cacheDir);
  const t = new Date(Date.now() - daysAgo * day);
  await utimes(join(downloadsDir(cacheDir), sha256), t, t);
  return { path, sha256, url };
}

/** A VM dir whose disk.qcow2 is an overlay on `base`, as the qemu provider makes it; no vm.json (as preserve-disk leaves it). */
async function vmOn(name: string, base: string): Promise<string> {
  const dir = join(vmsDir, name);
  await mkdir(dir, { recursive: true });
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', join(dir, 'disk.qcow2')]);
  return join(dir, 'disk.qcow2');
}

describe('qcow2BackingFile', () => {
  it('reads the backing file from the header: absolute, relative to the overlay, a chain, and none', async () => {
    const base = join(root, 'base.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1M']);
    const mid = await vmOn('mid', base);
    await mkdir(join(root, 'top'));
    // A relative backing name, as `qemu-img create -b ../vms/mid/disk.qcow2` writes it.
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '../vms/mid/disk.qcow2', '-F', 'qcow2', join(root, 'top', 'top.qcow2')]);
    expect(await qcow2BackingFile(mid)).toBe(base);
    expect(await qcow2BackingFile(join(root, 'top', 'top.qcow2'))).toBe(mid);
    expect(await qcow2BackingChain(join(root, 'top', 'top.qcow2'))).toEqual([mid, base]);
    expect(await qcow2BackingFile(base)).toBeUndefined();
    await writeFile(join(root, 'raw.img'), Buffer.alloc(4096));
    expect(await qcow2BackingFile(join(root, 'raw.img'))).toBeUndefined();
    expect(await qcow2BackingFile(join(root, 'missing.qcow2'))).toBeUndefined();
  });
});

describe('listDownloads and pruneDownloads', () => {
  it('lists complete downloads with size, age and source URL; reuse counts as use', async () => {
    const a = await download('debian.qcow2', 40);
    // A download from before URLs were recorded: listed without one.
    const legacy = await download('legacy.qcow2', 1);
    await rm(join(downloadsDir(cacheDir), legacy.sha256, '.source.json'));
    // A download in progress: only a partial file.
    await mkdir(join(downloadsDir(cacheDir), 'f'.repeat(64)));
    await writeFile(join(downloadsDir(cacheDir), 'f'.repeat(64), 'x.qcow2.partial-999999'), 'half');

    const listed = await listDownloads(cacheDir);
    expect(listed.map((d) => d.sha256).sort()).toEqual([a.sha256, legacy.sha256].sort());
    const da = listed.find((d) => d.sha256 === a.sha256)!;
    expect(da).toMatchObject({ kind: 'download', path: a.path, files: ['debian.qcow2'], url: a.url });
    expect(da.size).toBeGreaterThan(0);
    expect(Date.now() - Date.parse(da.lastUsed)).toBeGreaterThan(39 * day);
    expect(listed.find((d) => d.sha256 === legacy.sha256)!.url).toBeUndefined();

    // Fetching it again is a cache hit that marks it used: an age-based prune now keeps it.
    expect(await fetchVerified(a.url, a.sha256, cacheDir)).toBe(a.path);
    expect(Date.now() - Date.parse((await listDownloads(cacheDir)).find((d) => d.sha256 === a.sha256)!.lastUsed)).toBeLessThan(60_000);
    expect((await pruneDownloads(cacheDir, { olderThanMs: 30 * day })).removed).toEqual([]);
  });

  it('prunes by last use, but never one being downloaded (lock held) nor one a VM disk stands on', async () => {
    const old = await download('old.qcow2', 40);
    const busy = await download('busy.qcow2', 40);
    const used = await download('used.qcow2', 40);
    const fresh = await download('fresh.qcow2', 1);
    // A VM kept with preserve-disk: only disk.qcow2, an overlay on `used`.
    await vmOn('web', used.path);
    const inUse = await cachePathsInUse(vmsDir);
    expect(inUse.get(used.path)).toBe('web');
    // A dead download (partial file, lock free) goes; the folder is not a complete download.
    const dead = join(downloadsDir(cacheDir), 'e'.repeat(64));
    await mkdir(dead);
    await writeFile(join(dead, 'x.partial-1'), 'half');

    const release = await acquireLock(downloadLockPath(cacheDir, busy.sha256), 'test');
    try {
      const r = await pruneDownloads(cacheDir, { olderThanMs: 30 * day, inUse });
      expect(r.removed.map((d) => d.sha256)).toEqual([old.sha256]);
      expect(r.skippedLocked.map((d) => d.sha256)).toEqual([busy.sha256]);
      expect(r.skippedInUse.map((d) => [d.sha256, d.vm])).toEqual([[used.sha256, 'web']]);
      expect((await listDownloads(cacheDir)).map((d) => d.sha256).sort()).toEqual([busy.sha256, used.sha256, fresh.sha256].sort());
      expect((await readdir(downloadsDir(cacheDir))).filter((n) => !n.startsWith('.')).sort()).toEqual([busy.sha256, used.sha256, fresh.sha256].sort());
    } finally {
      await release();
    }
    // --all: everything not in use, whatever its age; the VM's base stays until the VM goes.
    const all = await pruneDownloads(cacheDir, { all: true, inUse: await cachePathsInUse(vmsDir) });
    expect(all.removed.map((d) => d.sha256).sort()).toEqual([busy.sha256, fresh.sha256].sort());
    expect(all.skippedInUse.map((d) => d.sha256)).toEqual([used.sha256]);
    await rm(join(vmsDir, 'web'), { recursive: true });
    const last = await pruneDownloads(cacheDir, { all: true, inUse: await cachePathsInUse(vmsDir) });
    expect(last.removed.map((d) => d.sha256)).toEqual([used.sha256]);
    expect((await readdir(downloadsDir(cacheDir))).filter((n) => !n.endsWith('.lock'))).toEqual([]);
  });

  it('a running VM protects its base through vm.json too (image.path), before any overlay exists', async () => {
    const base = await download('cloud.qcow2', 40);
    await mkdir(join(vmsDir, 'db'));
    await writeFile(join(vmsDir, 'db', 'vm.json'), JSON.stringify({ name: 'db', image: { path: base.path, kind: 'disk', builder: 'cloud-init', cacheKey: 'k' } }));
    const r = await pruneDownloads(cacheDir, { all: true, inUse: await cachePathsInUse(vmsDir) });
    expect(r.skippedInUse.map((d) => d.vm)).toEqual(['db']);
    expect(r.removed).toEqual([]);
  });
});
