// Content-addressed image cache: <cacheDir>/images/<sha256-of-inputs>/. An entry is built in a temp dir
// beside it and renamed into place, under a per-key file lock, so any number of concurrent builders of one
// key build it once and nobody ever sees a half-written entry (an entry dir exists only once complete).
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, isLocked, type Release } from '../harness/lock.js';
import { LockBusy } from '../harness/errors.js';

export interface ImageMeta {
  key: string;
  builder: string;
  /** What went into the key, without secrets (public keys are shown as fingerprints). */
  inputs: Record<string, unknown>;
  /** ISO-8601 time the entry was completed. */
  created: string;
  /** Total bytes of the entry's files. */
  size: number;
  /** The main artifact, relative to the entry dir (e.g. "tiny.iso"). */
  artifact: string;
  hostPublicKey?: string;
}

export interface CacheEntry {
  key: string;
  dir: string;
  meta: ImageMeta;
  /** The artifact's absolute path. */
  path: string;
  /** True when this call found the entry already built. */
  reused: boolean;
}

/** What a build function reports back; the cache adds key, created and size. */
export type BuildResult = Omit<ImageMeta, 'key' | 'created' | 'size'>;

const META = 'meta.json';
const TMP_PREFIX = '.tmp-';
/** Long builds (a kernel download, grub-mkrescue under load) must not make waiters give up. */
const BUILD_WAIT_MS = 30 * 60_000;

export const imagesDir = (cacheDir: string) => join(cacheDir, 'images');
const lockPathFor = (cacheDir: string, key: string) => join(imagesDir(cacheDir), `.${key}.lock`);

/** The cache key: sha256 over a canonical (sorted-keys) JSON of the inputs. */
export function cacheKey(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Returns the complete entry for `key`, or undefined. Never returns a half-built one. */
export async function readEntry(cacheDir: string, key: string): Promise<CacheEntry | undefined> {
  const dir = join(imagesDir(cacheDir), key);
  try {
    const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as ImageMeta;
    return { key, dir, meta, path: join(dir, meta.artifact), reused: true };
  } catch {
    return undefined;
  }
}

/**
 * Returns the entry for `key`, building it with `build(tmpDir)` when missing. `build` writes its files into
 * tmpDir and returns the metadata; on failure the temp dir is removed and the error rethrown.
 */
export async function getOrBuild(
  cacheDir: string,
  key: string,
  build: (tmpDir: string) => Promise<BuildResult>,
  opts: { onWait?: () => void } = {},
): Promise<CacheEntry> {
  const hit = await readEntry(cacheDir, key);
  if (hit) return touch(hit);
  const root = imagesDir(cacheDir);
  await mkdir(root, { recursive: true });
  const release = await lockOrEntry(cacheDir, key, opts.onWait);
  if (typeof release !== 'function') return touch(release);
  try {
    // Someone else may have finished between our last look and taking the lock.
    const again = await readEntry(cacheDir, key);
    if (again) return touch(again);
    const tmp = await mkdtemp(join(root, `${TMP_PREFIX}${key.slice(0, 12)}-`));
    try {
      const result = await build(tmp);
      const meta: ImageMeta = { key, ...result, created: new Date().toISOString(), size: await dirSize(tmp) };
      await writeFile(join(tmp, META), JSON.stringify(meta, null, 2) + '\n');
      await chmod(tmp, 0o755); // mkdtemp makes it 0700; the entry is readable like any cache file
      await rename(tmp, join(root, key));
      return { key, dir: join(root, key), meta, path: join(root, key, meta.artifact), reused: false };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    await release();
  }
}

/**
 * Takes the key's lock, or returns the entry if it appears while we wait. Waiters look for the finished
 * entry without queueing for the lock, so 20 waiters return together rather than one lock turn each.
 */
async function lockOrEntry(cacheDir: string, key: string, onWait?: () => void): Promise<Release | CacheEntry> {
  const deadline = Date.now() + BUILD_WAIT_MS;
  let told = false;
  for (;;) {
    const hit = await readEntry(cacheDir, key);
    if (hit) return hit;
    try {
      return await acquireLock(lockPathFor(cacheDir, key), `image ${key.slice(0, 12)}`, { waitMs: 0 });
    } catch (e) {
      if (!(e instanceof LockBusy) || Date.now() >= deadline) throw e;
    }
    if (!told) onWait?.();
    told = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Marks an entry as used now; pruning by age counts from the last use. */
async function touch(entry: CacheEntry): Promise<CacheEntry> {
  const now = new Date();
  await utimes(entry.dir, now, now).catch(() => undefined);
  return entry;
}

export interface ListedImage extends ImageMeta {
  dir: string;
  path: string;
  lastUsed: string;
}

/** Every complete entry, newest first. Temp dirs and locks are skipped. */
export async function listImages(cacheDir: string): Promise<ListedImage[]> {
  const root = imagesDir(cacheDir);
  const names = await readdir(root).catch(() => [] as string[]);
  const out: ListedImage[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const entry = await readEntry(cacheDir, name);
    if (!entry) continue;
    const st = await stat(entry.dir);
    out.push({ ...entry.meta, dir: entry.dir, path: entry.path, lastUsed: st.mtime.toISOString() });
  }
  return out.sort((a, b) => b.created.localeCompare(a.created));
}

export interface PruneResult {
  removed: string[];
  /** Entries kept because a builder or pruner holds their lock right now. */
  skippedLocked: string[];
}

/**
 * Removes entries last used more than `olderThanMs` ago (or all with `all`). An entry whose lock is held
 * (being built, or reused inside a lock) is never removed. Leftover temp dirs of dead builds go too.
 */
export async function pruneImages(cacheDir: string, opts: { olderThanMs?: number; all?: boolean; now?: number }): Promise<PruneResult> {
  const now = opts.now ?? Date.now();
  const root = imagesDir(cacheDir);
  const result: PruneResult = { removed: [], skippedLocked: [] };
  for (const img of await listImages(cacheDir)) {
    const age = now - Date.parse(img.lastUsed);
    if (!opts.all && (opts.olderThanMs === undefined || age < opts.olderThanMs)) continue;
    const removed = await removeUnderLock(cacheDir, img.key);
    (removed ? result.removed : result.skippedLocked).push(img.key);
  }
  // Temp dirs whose key is not locked belong to a build that died: nobody will ever rename them.
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const keyPrefix = name.slice(TMP_PREFIX.length).split('-')[0] ?? '';
    const locks = (await readdir(root)).filter((n) => n.startsWith(`.${keyPrefix}`) && n.endsWith('.lock'));
    const busy = await Promise.all(locks.map((l) => isLocked(join(root, l))));
    if (!busy.some(Boolean)) await rm(join(root, name), { recursive: true, force: true });
  }
  return result;
}

/** Takes the key's lock without waiting; moves the entry aside (atomic) and deletes it. False if busy. */
async function removeUnderLock(cacheDir: string, key: string): Promise<boolean> {
  let release;
  try {
    release = await acquireLock(lockPathFor(cacheDir, key), `image ${key}`, { waitMs: 0 });
  } catch (e) {
    if (e instanceof LockBusy) return false;
    throw e;
  }
  try {
    const root = imagesDir(cacheDir);
    const trash = join(root, `${TMP_PREFIX}${key.slice(0, 12)}-deleting-${process.pid}-${Date.now()}`);
    await rename(join(root, key), trash);
    await rm(trash, { recursive: true, force: true });
    return true;
  } finally {
    await release();
  }
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}
