// forceCleanup without real machines: a stand-in "qemu" (a process naming the VM dir, as qemu's command line does)
// shows which machines it may kill (only those whose lock this process holds), the keep policy, and that a
// provider that never answers cannot hold it past its bound.
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { forceCleanup } from './force-cleanup.js';
import { acquireLock, pidAlive } from './lock.js';
import { harnessPaths, vmFiles, type HarnessPaths } from './paths.js';
import type { Plan } from './plan.js';
import { registerProvider } from './providers/registry.js';
import type { TeardownPolicy } from './events.js';

const procs: ResultPromise[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

async function sandbox(): Promise<HarnessPaths> {
  const root = await mkdtemp(join(tmpdir(), 'force-cleanup-'));
  return harnessPaths({ HARNESS_PROJECT_DIR: root }, root);
}

/** A VM dir with a pidfile naming a live process whose command line mentions the dir (what livePid checks). */
async function fakeVm(paths: HarnessPaths, name: string): Promise<number> {
  const f = vmFiles(paths.vms, name);
  await mkdir(f.dir, { recursive: true });
  await writeFile(f.disk, 'disk');
  const p = execa('node', ['-e', 'setTimeout(() => {}, 60000)', `${f.dir}/stand-in-qemu`], { reject: false });
  procs.push(p);
  await writeFile(f.pid, `${p.pid}\n`);
  return p.pid!;
}

function plan(vms: Array<{ name: string; provider?: string }>, teardown: TeardownPolicy = 'destroy'): Plan {
  return {
    scenario: { name: 't', containers: {} },
    file: 't.yaml',
    dir: '.',
    teardown,
    lockWaitMs: 0,
    vms: vms.map((v) => ({ key: v.name, name: v.name, config: { provider: v.provider ?? 'qemu' } })),
  } as unknown as Plan;
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !pidAlive(pid);
}

describe('forceCleanup', () => {
  test('kills and removes the VMs whose lock this process holds; one locked by another run is not touched', async () => {
    const paths = await sandbox();
    const mine = await fakeVm(paths, 'mine');
    const theirs = await fakeVm(paths, 'theirs');
    const release = await acquireLock(vmFiles(paths.vms, 'mine').lock, 'VM mine');
    // Another run holds `theirs` (this run would still be waiting for that lock).
    const theirLock = vmFiles(paths.vms, 'theirs').lock;
    await mkdir(theirLock);
    await writeFile(`${theirLock}.holder.json`, JSON.stringify({ pid: theirs, host: hostname(), command: 'harness run', since: new Date().toISOString() }));
    try {
      // What it returns goes into the run's record (teardown.forced): it names the pid it found alive and killed.
      expect(await forceCleanup(plan([{ name: 'mine' }, { name: 'theirs' }]), paths)).toEqual([{ name: 'mine', killedPids: [mine], killedContainers: [] }]);
      expect(await gone(mine)).toBe(true);
      expect(existsSync(vmFiles(paths.vms, 'mine').dir)).toBe(false);
      expect(existsSync(vmFiles(paths.vms, 'mine').lock)).toBe(false);
      expect(pidAlive(theirs), "another run's VM survives").toBe(true);
      expect(existsSync(vmFiles(paths.vms, 'theirs').disk)).toBe(true);
      expect(existsSync(theirLock)).toBe(true);
    } finally {
      await release().catch(() => undefined);
      await rm(paths.root, { recursive: true, force: true });
    }
  });

  test('keep kills the VM but leaves its state; preserve-disk leaves only the disk', async () => {
    for (const [policy, left] of [
      ['keep', ['disk.qcow2', 'kept.pid']],
      ['preserve-disk', ['disk.qcow2']],
    ] as const) {
      const paths = await sandbox();
      const pid = await fakeVm(paths, 'kept');
      await acquireLock(vmFiles(paths.vms, 'kept').lock, 'VM kept');
      expect(await forceCleanup(plan([{ name: 'kept' }], policy), paths), policy).toEqual([{ name: 'kept', killedPids: [pid], killedContainers: [] }]);
      expect(await gone(pid), policy).toBe(true);
      const { readdir } = await import('node:fs/promises');
      expect((await readdir(vmFiles(paths.vms, 'kept').dir)).sort(), policy).toEqual([...left]);
      await rm(paths.root, { recursive: true, force: true });
    }
  });

  test('a provider that never answers is cut off at the bound; its lock stays for the reaper', async () => {
    registerProvider('never-answers', () => ({ name: 'never-answers', forceClean: () => new Promise<void>(() => undefined) }) as never);
    const paths = await sandbox();
    const lock = vmFiles(paths.vms, 'stuck').lock;
    const release = await acquireLock(lock, 'VM stuck');
    const said: string[] = [];
    try {
      // Unbounded, this never resolves (the provider never answers) and the test times out.
      expect(await forceCleanup(plan([{ name: 'stuck', provider: 'never-answers' }]), paths, { timeoutMs: 300, log: (m) => said.push(m) })).toEqual([]);
      expect(said).toEqual(['VM stuck: not done within 300 ms; the next harness command reaps what is left']);
      expect(existsSync(`${lock}.holder.json`)).toBe(true);
    } finally {
      await release().catch(() => undefined);
      await rm(paths.root, { recursive: true, force: true });
    }
  });
});
