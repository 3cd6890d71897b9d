// The download cache beside the image cache: cloud images fetched by URL and verified, one folder per sha256
// (<cacheDir>/downloads/<sha256>/<name>, written by cloud-init/download.ts, with .source.json naming the URL).
// Listed and pruned like images: by last use, never while its lock is held (a download in progress) and never
// while a VM in vms/ still stands on it (its disk overlay's backing file).
import { readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock, isLocked } from '../harness/lock.js';
import { LockBusy } from '../harness/errors.js';
import { userOf, type PathsInUse } from './in-use.js';

export const downloadsDir = (cacheDir: string) => join(cacheDir, 'downloads');
/** The lock fetchVerified holds while downloading (withFileLock's `<dir>/.<resource>.lock`). */
export const downloadLockPath = (cacheDir: string, sha256: string) => join(downloadsDir(cacheDir), `.${sha256}.lock`);
/** Written beside the file: where it came from. */
export const SOURCE_FILE = '.source.json';
const PARTIAL = /\.partial-\d+$/;
const SHA = /^[0-9a-f]{64}$/;

export interface DownloadSource {
  url: string;
  sha256: string;
  /** ISO-8601 time the verified download completed. */
  downloaded: string;
}

export interface ListedDownload {
  kind: 'download';
  sha256: string;
  dir: string;
  /** The downloaded file (the first, if mirrors with different names gave the same bytes). */
  path: string;
  files: string[];
  size: number;
  /** When it was downloaded (from .source.json, else the file's mtime). */
  created: string;
  /** Last time a build used it; pruning by age counts from here. */
  lastUsed: string;
  /** The URL it came from, when recorded. */
  url?: string;
}

/** Marks a download as used now. */
export async function touchDownload(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now).catch(() => undefined);
}

/** Complete downloads, newest first. Folders holding only a partial file (a download in progress or dead) are skipped. */
export async function listDownloads(cacheDir: string): Promise<ListedDownload[]> {
  const root = downloadsDir(cacheDir);
  const out: ListedDownload[] = [];
  for (const sha256 of await readdir(root).catch(() => [] as string[])) {
    if (!SHA.test(sha256)) continue;
    const dir = join(root, sha256);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const files = (await readdir(dir)).filter((f) => !f.startsWith('.') && !PARTIAL.test(f)).sort();
    if (!files.length) continue;
    const stats = await Promise.all(files.map((f) => stat(join(dir, f))));
    const source = await readSource(dir);
    out.push({
      kind: 'download',
      sha256,
      dir,
      path: join(dir, files[0]!),
      files,
      size: stats.reduce((n, s) => n + s.size, 0),
      created: source?.downloaded ?? stats[0]!.mtime.toISOString(),
      lastUsed: st.mtime.toISOString(),
      ...(source?.url ? { url: source.url } : {}),
    });
  }
  return out.sort((a, b) => b.created.localeCompare(a.created));
}

async function readSource(dir: string): Promise<DownloadSource | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, SOURCE_FILE), 'utf8')) as DownloadSource;
  } catch {
    return undefined;
  }
}

export interface DownloadPruneResult {
  removed: ListedDownload[];
  /** Kept because a download of it is in progress (its lock is held). */
  skippedLocked: ListedDownload[];
  /** Kept because a VM's disk or record still uses it. */
  skippedInUse: Array<ListedDownload & { vm: string }>;
}

/**
 * Removes downloads last used more than `olderThanMs` ago (or all with `all`), except those a VM in `inUse`
 * needs or whose lock is held. Folders a dead download left (partial files, lock free) go too.
 */
export async function pruneDownloads(
  cacheDir: string,
  opts: { olderThanMs?: number; all?: boolean; now?: number; inUse?: PathsInUse },
): Promise<DownloadPruneResult> {
  const now = opts.now ?? Date.now();
  const result: DownloadPruneResult = { removed: [], skippedLocked: [], skippedInUse: [] };
  const listed = await listDownloads(cacheDir);
  for (const d of listed) {
    if (!opts.all && (opts.olderThanMs === undefined || now - Date.parse(d.lastUsed) < opts.olderThanMs)) continue;
    const vm = userOf(opts.inUse, d.dir);
    if (vm) {
      result.skippedInUse.push({ ...d, vm });
      continue;
    }
    (await removeUnderLock(cacheDir, d.sha256)) ? result.removed.push(d) : result.skippedLocked.push(d);
  }
  // Folders with no complete file: a download that died (lock free) never finishes; one in progress holds the lock.
  const complete = new Set(listed.map((d) => d.sha256));
  for (const sha256 of await readdir(downloadsDir(cacheDir)).catch(() => [] as string[])) {
    if (!SHA.test(sha256) || complete.has(sha256)) continue;
    if (await isLocked(downloadLockPath(cacheDir, sha256)).catch(() => false)) continue;
    await removeUnderLock(cacheDir, sha256);
  }
  return result;
}

/** Takes the download's lock without waiting; moves the folder aside (atomic) and deletes it. False if busy. */
async function removeUnderLock(cacheDir: string, sha256: string): Promise<boolean> {
  let release;
  try {
    release = await acquireLock(downloadLockPath(cacheDir, sha256), `download ${sha256.slice(0, 12)}`, { waitMs: 0 });
  } catch (e) {
    if (e instanceof LockBusy) return false;
    throw e;
  }
  try {
    const root = downloadsDir(cacheDir);
    const trash = join(root, `.deleting-${sha256.slice(0, 12)}-${process.pid}-${Date.now()}`);
    await rename(join(root, sha256), trash);
    await rm(trash, { recursive: true, force: true });
    return true;
  } finally {
    await release();
  }
}
