// One provider conformance suite, shared by every backend: the same lifecycle (status, start, SSH readiness,
// exec, lock exclusion, stop, preserve-disk clean and reuse, full clean, boot timeout) is checked for real
// against each provider that can run here. Boots are few (each TCG boot costs ~20 s): one boot, one reboot from
// the preserved disk, and one short boot that is abandoned by a 3 s readiness timeout.
import { execa } from 'execa';
import { chmod, link, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BootTimeout } from '../../harness/errors.js';
import type { EmittedEvent } from '../../harness/events.js';
import { projectKeyPair, type KeyPair } from '../../harness/keys.js';
import { acquireLock, pidAlive, type Release } from '../../harness/lock.js';
import { harnessPaths, vmFiles } from '../../harness/paths.js';
import type { BuiltImage, Provider, StartedMachine } from '../../harness/providers/provider.js';
import { consoleTail } from '../../harness/providers/vm-state.js';
import { waitForSsh } from '../../harness/readiness.js';
import { vmSchema, type VmConfig } from '../../harness/scenario/schema.js';
import { connectSsh } from '../../harness/ssh/connect.js';
import { SshTarget } from '../../harness/targets/ssh-target.js';
import type { Target } from '../../harness/targets/target.js';
import { buildImage } from '../../iso/index.js';

export interface ConformanceOptions {
  /** When set, the whole block is skipped and the reason shows in its title. */
  skip?: string;
}

const TRY_LOCK = fileURLToPath(new URL('./try-lock.ts', import.meta.url));
const BOOT_MS = 180_000;

/** Registers `describe(label)` with the conformance checks, run in order against a fresh provider and vms dir. */
export function describeProviderConformance(label: string, makeProvider: () => Provider | Promise<Provider>, opts: ConformanceOptions = {}): void {
  const title = opts.skip ? `${label} provider conformance (skipped: ${opts.skip})` : `${label} provider conformance`;
  describe.skipIf(opts.skip !== undefined)(title, () => {
    const NAME = 'conf';
    const SLOW = 'conf-timeout';
    const events: EmittedEvent[] = [];
    const emit = (e: EmittedEvent) => void events.push(e);
    let provider: Provider;
    let vmsDir: string;
    let keys: KeyPair;
    let image: BuiltImage;
    let config: VmConfig;
    let release: Release | undefined;
    let machine: StartedMachine | undefined;
    let target: Target | undefined;
    /** A hard link to disk.qcow2 outside the VM dir: while it exists the disk's inode can't be reused by a new file. */
    let diskWitness: string;

    const files = () => vmFiles(vmsDir, NAME);
    const startSpec = (name: string, cfg: VmConfig) => ({ name, config: cfg, image, dir: vmFiles(vmsDir, name).dir, vmsDir, emit });
    /** Waits for SSH the way harness/session.ts bootOne does: pinned host key, the project key, isAlive hook. */
    const ready = (m: StartedMachine, timeoutMs: number) =>
      waitForSsh(m, {
        timeoutMs,
        emit,
        connect: async () =>
          new SshTarget(
            m.name,
            () => connectSsh({ host: m.sshHost, port: m.sshPort, user: image.user, privateKey: keys.privateKey, hostPublicKey: image.hostPublicKey, readyTimeoutMs: 10_000 }),
            { isAlive: () => m.isAlive() },
          ),
      });

    beforeAll(async () => {
      provider = await makeProvider();
      vmsDir = await mkdtemp(join(tmpdir(), `harness-conformance-${label}-`));
      await chmod(vmsDir, 0o755); // libvirt's qemu user must search the VM dirs below it
      diskWitness = join(vmsDir, 'disk-witness.qcow2');
      const paths = harnessPaths();
      keys = await projectKeyPair(paths.keys);
      image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache });
      config = vmSchema.parse({ memory: '256M', accel: 'tcg', bootTimeout: '180s' });
      release = await acquireLock(files().lock, `VM ${NAME}`);
    });

    // Always clean, even after a failed check: no VM, domain, lock or temp dir may outlive the suite.
    afterAll(async () => {
      await target?.close().catch(() => undefined);
      for (const name of [NAME, SLOW]) await provider?.clean(name, vmsDir).catch((e: unknown) => console.error(`clean ${name}: ${(e as Error).message}`));
      await release?.().catch(() => undefined);
      if (vmsDir) await rm(vmsDir, { recursive: true, force: true });
    });

    test('status is NotCreated before start', async () => {
      expect(await provider.status(NAME, vmsDir)).toBe('NotCreated');
    });

    test('start returns with the VM process up: Starting or Running', async () => {
      machine = await provider.start(startSpec(NAME, config));
      expect(await machine.isAlive()).toBe(true);
      expect(['Starting', 'Running']).toContain(await provider.status(NAME, vmsDir));
    }, BOOT_MS);

    test('waitForSsh succeeds and status becomes Running', async () => {
      target = await ready(machine!, config.bootTimeout);
      expect(await provider.status(NAME, vmsDir)).toBe('Running');
    }, BOOT_MS);

    test('exec through the target runs in the guest', async () => {
      const r = await target!.exec('uname -s');
      expect(r.exitCode).toBe(0);
      expect(r.stdout.trim()).toBe('Linux');
    });

    test('a second process cannot take the VM lock while we hold it, and is told our pid', async () => {
      const r = await execa('node', ['--import', 'tsx', TRY_LOCK, files().lock], { reject: false, timeout: 60_000 });
      const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { outcome?: string; name?: string; holderPid?: number; message?: string };
      expect(out, r.stderr).toMatchObject({ outcome: 'busy', name: 'LockBusy', holderPid: process.pid });
      expect(out.message).toContain(`pid ${process.pid}`);
    });

    test('stop leaves the VM Stopped', async () => {
      await target?.close();
      target = undefined;
      await provider.stop(NAME, vmsDir);
      expect(await machine!.isAlive()).toBe(false);
      expect(await provider.status(NAME, vmsDir)).toBe('Stopped');
    }, 120_000);

    test('clean with preserveDisk leaves only disk.qcow2 in the VM dir', async () => {
      await provider.clean(NAME, vmsDir, { preserveDisk: true });
      expect(await readdir(files().dir)).toEqual(['disk.qcow2']);
      await link(files().disk, diskWitness);
    }, 120_000);

    test('start again reuses the preserved disk and SSH answers again', async () => {
      const before = await stat(diskWitness);
      machine = await provider.start(startSpec(NAME, config));
      const after = await stat(files().disk);
      // Same inode as the witness link: the disk was opened as it was, not recreated (a new file can't take a live inode).
      expect(after.ino).toBe(before.ino);
      expect(after.nlink).toBe(2);
      target = await ready(machine, config.bootTimeout);
      expect((await target.exec('uname -s')).stdout.trim()).toBe('Linux');
      expect(await provider.status(NAME, vmsDir)).toBe('Running');
    }, BOOT_MS);

    test('clean removes everything: NotCreated, no VM dir, no process', async () => {
      await target?.close();
      target = undefined;
      const pid = machine!.pid ?? (await pidFromFile(files().pid));
      await provider.clean(NAME, vmsDir);
      expect(await provider.status(NAME, vmsDir)).toBe('NotCreated');
      await expect(stat(files().dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await machine!.isAlive()).toBe(false);
      if (pid !== undefined) expect(pidAlive(pid)).toBe(false);
    }, 120_000);

    test('a boot that is not ready in time fails with BootTimeout carrying console lines, and clean leaves nothing', async () => {
      const short = vmSchema.parse({ memory: '256M', accel: 'tcg', bootTimeout: '3s' });
      const m = await provider.start(startSpec(SLOW, short));
      const pid = m.pid ?? (await pidFromFile(vmFiles(vmsDir, SLOW).pid));
      expect(pid, 'the provider reports the VM process pid (StartedMachine.pid or the pidfile)').toBeDefined();
      expect(pidAlive(pid!)).toBe(true);
      // Let the guest print its first console line (bounded) so the tail is non-empty even on a loaded host;
      // SSH is still many seconds away then, so the 3 s readiness wait below cannot succeed.
      const deadline = Date.now() + 60_000;
      while ((await consoleTail(m.consoleLog, 1)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const err = await ready(m, short.bootTimeout).then(
        (t) => t.close().then(() => new Error('expected BootTimeout, but SSH became ready')),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BootTimeout);
      const bt = err as BootTimeout;
      expect(bt.vm).toBe(SLOW);
      expect(bt.timeoutMs).toBe(3000);
      expect(bt.consoleTail.length, `console tail of ${m.consoleLog}`).toBeGreaterThan(0);
      expect(bt.message).toContain('console lines');

      await provider.clean(SLOW, vmsDir);
      expect(await provider.status(SLOW, vmsDir)).toBe('NotCreated');
      await expect(stat(vmFiles(vmsDir, SLOW).dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(pidAlive(pid!)).toBe(false);
    }, 120_000);
  });
}

async function pidFromFile(path: string): Promise<number | undefined> {
  const n = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
