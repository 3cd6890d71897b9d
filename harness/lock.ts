// Exclusive locks with proper-lockfile (mkdir-based, refreshed mtime, stale after 10 s without refresh).
// Beside each lock we write who holds it, so a busy lock can say so, and a lock whose holder pid is dead
// is reclaimed at once instead of after the stale timeout.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { LockBusy } from './errors.js';
import { realClock, type Clock } from './retry.js';

export interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export type Release = () => Promise<void>;

export interface LockOptions {
  /** How long to wait for a busy lock before throwing LockBusy; 0 = fail at once. */
  waitMs?: number;
  clock?: Clock;
  /** Called once while waiting, with the current holder. */
  onWait?: (holder: LockHolder | undefined) => void;
}

const holderPath = (lockPath: string) => `${lockPath}.holder.json`;

/** Takes the lock at `lockPath` (a directory proper-lockfile creates). */
export async function acquireLock(lockPath: string, resource: string, opts: LockOptions = {}): Promise<Release> {
  const { waitMs = 0, clock = realClock } = opts;
  await mkdir(dirname(lockPath), { recursive: true });
  const deadline = clock.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const release = await lockfile.lock(lockPath, {
        lockfilePath: lockPath,
        realpath: false,
        stale: 10_000,
        onCompromised: () => {
          /* another process reclaimed a lock we held past staleness; the holder file tells the story */
        },
      });
      const holder: LockHolder = { pid: process.pid, host: hostname(), command: process.argv.slice(1).join(' ').slice(0, 200), since: new Date().toISOString() };
      await writeFile(holderPath(lockPath), JSON.stringify(holder));
      return async () => {
        await rm(holderPath(lockPath), { force: true });
        await release().catch(() => undefined);
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      const holder = await readHolder(lockPath);
      if (holder && holder.host === hostname() && !pidAlive(holder.pid)) {
        // The holder died without releasing (SIGKILL): reclaim now rather than wait for staleness.
        await breakLock(lockPath);
        continue;
      }
      if (clock.now() >= deadline) throw new LockBusy(resource, holder ?? {});
      if (!told) {
        opts.onWait?.(holder);
        told = true;
      }
      await clock.sleep(Math.min(200, Math.max(1, deadline - clock.now())));
    }
  }
}

export async function readHolder(lockPath: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(holderPath(lockPath), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Whether the lock is held right now (by anyone), without taking it. */
export async function isLocked(lockPath: string): Promise<boolean> {
  return lockfile.check(lockPath, { lockfilePath: lockPath, realpath: false, stale: 10_000 });
}

/** Removes a lock whose holder is known to be gone. */
export async function breakLock(lockPath: string): Promise<void> {
  await rm(holderPath(lockPath), { force: true });
  await rm(lockPath, { recursive: true, force: true });
}

/** Runs `fn` holding `<dir>/.<resource>.lock`, waiting up to `waitMs` (default 120 s) for it. */
export async function withFileLock<T>(dir: string, resource: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  await mkdir(dir, { recursive: true });
  const release = await acquireLock(join(dir, `.${resource}.lock`), resource, { waitMs });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Whether a process runs. A zombie (exited, not yet reaped by its parent) counts as dead. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true; // no /proc entry to read (another OS): kill(0) said it exists
  }
}
