// The second Ctrl-C: no more waiting for graceful teardown. Every machine this run started (VMs of every provider,
// and containers) is killed at once by its provider's forceClean, then its state goes by policy: destroy and
// keep-on-failure remove it, preserve-disk keeps the disk (disk.qcow2, or a container's named volume), keep kills
// it but leaves its state. Only machines whose lock this process holds are touched: a run still waiting for
// another run's lock must not kill that run's VM. Each machine is bounded in time (a slow libvirtd or dockerd
// cannot hold the exit); one that did not finish keeps its lock, so the next command's crash reaper finishes it.
import { hostname } from 'node:os';
import type { HarnessPaths } from './paths.js';
import type { Plan } from './plan.js';
import { vmFiles } from './paths.js';
import { breakLock, readHolder } from './lock.js';
import { getProvider } from './providers/registry.js';
import type { ForceCleaned, ForceCleanOptions } from './providers/provider.js';

export interface ForceCleanupOptions {
  /** Upper bound per machine (they are cleaned in parallel). Default 5 s. */
  timeoutMs?: number;
  /** Told about each machine that could not be cleaned in time. */
  log?: (message: string) => void;
}

interface Job {
  what: string;
  /** Its name under vms/ (state dir and lock). */
  name: string;
  clean: () => Promise<ForceCleaned>;
}

/** One machine the force path finished (its lock was ours and it was cleaned in time), with what it killed. */
export interface ForcedMachine extends ForceCleaned {
  /** Its name under vms/: the VM name, or the container key. */
  name: string;
}

/** Returns the machines it cleaned, for the run's record (`teardown.forced`); those it could not are only logged. */
export async function forceCleanup(plan: Plan, paths: HarnessPaths, opts: ForceCleanupOptions = {}): Promise<ForcedMachine[]> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const policy: ForceCleanOptions = { keep: plan.teardown === 'keep', preserveDisk: plan.teardown === 'preserve-disk', timeoutMs };
  const jobs: Job[] = [
    ...plan.vms.map((v) => ({
      what: `VM ${v.name}`,
      name: v.name,
      clean: async () => {
        const provider = getProvider(v.config.provider, { paths, privateKeyPath: '' });
        if (!provider.forceClean) throw new Error(`the ${provider.name} provider cannot force-clean`);
        return provider.forceClean(v.name, paths.vms, { ...policy, config: v.config });
      },
    })),
    // Loaded only when the scenario has containers: VM-only runs never load testcontainers.
    ...Object.keys(plan.scenario.containers).map((key) => ({
      what: `container ${key}`,
      name: key,
      clean: async () => {
        const { ContainerProvider } = await import('./containers/container-provider.js');
        return new ContainerProvider().forceClean(key, paths.vms, policy);
      },
    })),
  ];
  const done = await Promise.all(
    jobs.map(async (job): Promise<ForcedMachine | undefined> => {
      const lock = vmFiles(paths.vms, job.name).lock;
      if (!(await heldByThisProcess(lock))) return undefined; // not ours (yet), or the graceful teardown already finished it
      try {
        const cleaned = await bounded(job.clean(), timeoutMs);
        await breakLock(lock);
        return { name: job.name, ...cleaned };
      } catch (e) {
        opts.log?.(`${job.what}: ${(e as Error).message}; the next harness command reaps what is left`);
        return undefined;
      }
    }),
  );
  return done.filter((m): m is ForcedMachine => m !== undefined);
}

async function heldByThisProcess(lock: string): Promise<boolean> {
  const holder = await readHolder(lock);
  return holder?.pid === process.pid && holder.host === hostname();
}

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`not done within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
