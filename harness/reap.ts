// Crash recovery: finds what a killed harness left behind, by the marks it leaves (vm.json ownerPid, the VM dir
// in qemu's command line, lock holder files), and reaps it. Runs before every harness command. Only this
// project's vms/ is looked at, and only processes whose command line names one of its VM dirs are signalled:
// nothing of another user's is touched. VMs kept on purpose (keep policy) are never reaped.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { HarnessPaths } from './paths.js';
import { vmFiles } from './paths.js';
import { breakLock, isLocked, pidAlive, readHolder } from './lock.js';
import { livePid, removeVmDir } from './providers/vm-state.js';
import { readVmRecord } from './vm-record.js';
import { getProvider } from './providers/registry.js';
import { reapRecorded, type OpenRunRecord } from './vm-action-record.js';

export type Reaper = (paths: HarnessPaths, log: (msg: string) => void) => Promise<void>;

/** Other kinds of orphans (libvirt domains, containers, aborted run records) register here. */
const extraReapers: Reaper[] = [];
export function registerReaper(r: Reaper): void {
  extraReapers.push(r);
}

/** Reaps what dead harness processes left in `paths.vms`; a reaped VM is recorded in its run through `openRecord`. */
export async function reapOrphans(paths: HarnessPaths, log: (msg: string) => void, openRecord: OpenRunRecord): Promise<void> {
  const entries = (await readdir(paths.vms, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  // `<name>.lock` is a directory too: kept apart, or it is taken for a VM dir and a stale lock is never reaped.
  const locks = entries.filter((e) => e.name.endsWith('.lock'));
  const dirs = entries.filter((e) => !e.name.endsWith('.lock'));
  const deadContainerDirs: string[] = [];
  // VM dirs before locks: a dead holder's lock is the evidence that a container dir is orphaned.
  for (const e of dirs) {
    try {
      if ((await reapVm(paths, e.name, log, openRecord)) === 'dead-container') deadContainerDirs.push(e.name);
    } catch (err) {
      log(`could not reap ${e.name}: ${(err as Error).message}`);
    }
  }
  for (const e of locks) await reapLock(join(paths.vms, e.name), log).catch((err: Error) => log(`could not reap ${e.name}: ${err.message}`));
  for (const r of extraReapers) await r(paths, log).catch((err: Error) => log(`reaper failed: ${err.message}`));
  for (const name of deadContainerDirs) await reapContainerDir(paths, name, log).catch((err: Error) => log(`could not reap ${name}: ${err.message}`));
}

async function reapVm(paths: HarnessPaths, name: string, log: (msg: string) => void, openRecord: OpenRunRecord): Promise<'dead-container' | undefined> {
  const files = vmFiles(paths.vms, name);
  const holder = await readHolder(files.lock);
  if (await isLocked(files.lock)) {
    if (!holder || holder.host !== hostname() || pidAlive(holder.pid)) return; // someone is working on it
  }
  const contents = await readdir(files.dir);
  if (contents.includes('container.json')) {
    // A container's dir: the container reaper removes the container; the dir goes after it, when its run is dead.
    const deadRun = holder !== undefined && holder.host === hostname() && !pidAlive(holder.pid);
    return deadRun && !contents.includes('vm.json') ? 'dead-container' : undefined;
  }
  const rec = await readVmRecord(paths.vms, name);
  if (rec) {
    if (rec.kept || rec.teardown === 'keep' || pidAlive(rec.ownerPid)) return;
    const provider = getProvider(rec.provider, { paths, privateKeyPath: rec.privateKeyPath });
    // Recorded against the run that made it (a Warning SystemEvent and the transitions), when that run is on record.
    const status = () => provider.status(name, paths.vms);
    const clean = () => provider.clean(name, paths.vms, { preserveDisk: rec.teardown === 'preserve-disk' });
    await reapRecorded({ dbPath: paths.db, open: openRecord }, name, rec, status, clean, log);
    log(`reaped VM ${name} left by dead harness pid ${rec.ownerPid}`);
    return;
  }
  // No vm.json: a half-written state dir (crash before the record was written), or a preserved disk alone.
  if (contents.every((f) => f === 'disk.qcow2')) return;
  if (await livePid(paths.vms, name)) return;
  const age = Date.now() - (await stat(files.dir)).mtimeMs;
  if (age < 5_000) return; // may be being written right now by a starting run
  await removeVmDir(paths.vms, name, true);
  log(`removed half-written state of VM ${name}`);
}

/** Removes a dead run's container dir once its container is gone (kept containers and live ones keep theirs). */
async function reapContainerDir(paths: HarnessPaths, name: string, log: (msg: string) => void): Promise<void> {
  const dir = vmFiles(paths.vms, name).dir;
  const rec = JSON.parse(await readFile(join(dir, 'container.json'), 'utf8')) as { id?: string; kept?: boolean };
  if (rec.kept || !rec.id) return;
  const { dockerode } = await import('./containers/docker-client.js');
  const gone = await (await dockerode())
    .getContainer(rec.id)
    .inspect()
    .then(
      () => false,
      (e: { statusCode?: number }) => e.statusCode === 404,
    );
  if (!gone) return; // the engine did not answer, or the container is still there: the next command retries
  await removeVmDir(paths.vms, name, false);
  log(`removed state dir of reaped container ${name}`);
}

async function reapLock(lockPath: string, log: (msg: string) => void): Promise<void> {
  const holder = await readHolder(lockPath);
  if (holder && holder.host === hostname() && !pidAlive(holder.pid)) {
    await breakLock(lockPath);
    log(`removed stale lock ${lockPath} of dead pid ${holder.pid}`);
  } else if (!holder && !(await isLocked(lockPath))) {
    // Killed between taking the lock and naming itself: no holder, and no refresh for the stale period.
    await breakLock(lockPath);
    log(`removed stale lock ${lockPath} (no holder, not refreshed)`);
  }
}
