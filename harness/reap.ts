// Crash recovery: finds what a killed harness left behind, by the marks it leaves (vm.json ownerPid, the VM dir
// in qemu's command line, lock holder files), and reaps it. Runs before every harness command. Only this
// project's vms/ is looked at, and only processes whose command line names one of its VM dirs are signalled:
// nothing of another user's is touched. VMs kept on purpose (keep policy) are never reaped.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { HarnessPaths } from './paths.js';
import { vmFiles } from './paths.js';
import { breakLock, isLocked, pidAlive, readHolder } from './lock.js';
import { livePid, readVmRecord, removeVmDir } from './providers/vm-state.js';
import { getProvider } from './providers/registry.js';

export type Reaper = (paths: HarnessPaths, log: (msg: string) => void) => Promise<void>;

/** Other kinds of orphans (libvirt domains, containers, aborted run records) register here. */
const extraReapers: Reaper[] = [];
export function registerReaper(r: Reaper): void {
  extraReapers.push(r);
}

export async function reapOrphans(paths: HarnessPaths, log: (msg: string) => void = () => undefined): Promise<void> {
  const entries = await readdir(paths.vms, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    try {
      if (e.isDirectory() && !e.name.startsWith('.')) await reapVm(paths, e.name, log);
      else if (e.isDirectory() && e.name.endsWith('.lock')) await reapLock(join(paths.vms, e.name), log);
    } catch (err) {
      log(`could not reap ${e.name}: ${(err as Error).message}`);
    }
  }
  for (const r of extraReapers) await r(paths, log).catch((err: Error) => log(`reaper failed: ${err.message}`));
}

async function reapVm(paths: HarnessPaths, name: string, log: (msg: string) => void): Promise<void> {
  const files = vmFiles(paths.vms, name);
  if (await isLocked(files.lock)) {
    const holder = await readHolder(files.lock);
    if (!holder || holder.host !== hostname() || pidAlive(holder.pid)) return; // someone is working on it
  }
  const contents = await readdir(files.dir);
  if (contents.includes('container.json')) return; // a container's dir: the container reaper owns it
  const rec = await readVmRecord(paths.vms, name);
  if (rec) {
    if (rec.kept || rec.teardown === 'keep' || pidAlive(rec.ownerPid)) return;
    const provider = getProvider(rec.provider, { paths, privateKeyPath: rec.privateKeyPath });
    await provider.clean(name, paths.vms, { preserveDisk: rec.teardown === 'preserve-disk' });
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

async function reapLock(lockPath: string, log: (msg: string) => void): Promise<void> {
  const holder = await readHolder(lockPath);
  if (holder && holder.host === hostname() && !pidAlive(holder.pid)) {
    await breakLock(lockPath);
    log(`removed stale lock ${lockPath} of dead pid ${holder.pid}`);
  }
}
