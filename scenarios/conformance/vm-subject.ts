// A VM Provider (qemu, libvirt, ...) as a conformance subject: SSH readiness the way harness/session.ts does it,
// the disk is vms/<name>/disk.qcow2 (proved reused by its inode), and a never-ready boot is a 3 s SSH wait that
// ends in BootTimeout carrying console lines.
import { chmod, link, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BootTimeout } from '../../harness/errors.js';
import { projectKeyPair } from '../../harness/keys.js';
import { pidAlive } from '../../harness/lock.js';
import { harnessPaths, vmFiles } from '../../harness/paths.js';
import type { BuiltImage, Provider, StartedMachine } from '../../harness/providers/provider.js';
import { consoleTail } from '../../harness/providers/vm-state.js';
import { waitForSsh } from '../../harness/readiness.js';
import { vmSchema, type VmConfig } from '../../harness/scenario/schema.js';
import { connectSsh } from '../../harness/ssh/connect.js';
import { SshTarget } from '../../harness/targets/ssh-target.js';
import { buildImage } from '../../iso/index.js';
import type { ConformanceSubject, SubjectContext } from './subject.js';

/** Builds (or reuses) the tiny image with the project key, then wraps `provider`. */
export async function vmSubject(provider: Provider, ctx: SubjectContext): Promise<ConformanceSubject<StartedMachine>> {
  const { vmsDir, emit } = ctx;
  await chmod(vmsDir, 0o755); // libvirt's qemu user must search the VM dirs below it
  const paths = harnessPaths();
  const keys = await projectKeyPair(paths.keys);
  const image: BuiltImage = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache });
  const config = vmSchema.parse({ memory: '256M', accel: 'tcg', bootTimeout: '180s' });
  /** A hard link to disk.qcow2 outside the VM dir: while it exists the disk's inode can't be reused by a new file. */
  const diskWitness = join(vmsDir, 'disk-witness.qcow2');

  const start = (name: string, cfg: VmConfig) => provider.start({ name, config: cfg, image, dir: vmFiles(vmsDir, name).dir, vmsDir, emit });
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

  return {
    start: (name) => start(name, config),
    ready: (m) => ready(m, config.bootTimeout),
    status: (name) => provider.status(name, vmsDir),
    stop: (name) => provider.stop(name, vmsDir),
    // The tiny guest's inittab prints this on the console only when it shuts down by itself (ACPI power button).
    stoppedGracefully: async (name) => (await readFile(vmFiles(vmsDir, name).log, 'utf8').catch(() => '')).includes('harness-tiny: powering off'),
    clean: (name, options) => provider.clean(name, vmsDir, options),
    async leftovers(name, m) {
      const pid = m?.pid ?? (await pidFromFile(vmFiles(vmsDir, name).pid));
      return pid !== undefined && pidAlive(pid) ? [`VM process pid ${pid}`] : [];
    },
    disk: {
      preservedFiles: ['disk.qcow2'],
      async beforeStop() {},
      async afterPreserve(name) {
        await link(vmFiles(vmsDir, name).disk, diskWitness);
      },
      async afterRestart(name, target) {
        const before = await stat(diskWitness);
        const after = await stat(vmFiles(vmsDir, name).disk);
        // Same inode as the witness link: the disk was opened as it was, not recreated (a new file can't take a live inode).
        expect(after.ino).toBe(before.ino);
        expect(after.nlink).toBe(2);
        expect((await target.exec('uname -s')).stdout.trim()).toBe('Linux');
      },
    },
    async neverReady(name) {
      const short = vmSchema.parse({ memory: '256M', accel: 'tcg', bootTimeout: '3s' });
      const m = await start(name, short);
      const pid = m.pid ?? (await pidFromFile(vmFiles(vmsDir, name).pid));
      expect(pid, 'the provider reports the VM process pid (StartedMachine.pid or the pidfile)').toBeDefined();
      expect(pidAlive(pid!)).toBe(true);
      // Let the guest print its first console line (bounded) so the tail is non-empty, then freeze it (a guest
      // hung mid-boot): however fast this host boots, SSH can then never answer within the 3 s wait.
      const deadline = Date.now() + 60_000;
      while ((await consoleTail(m.consoleLog, 1)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      process.kill(pid!, 'SIGSTOP');
      const error = await ready(m, short.bootTimeout)
        .then(
          (t) => t.close().then(() => new Error('expected BootTimeout, but SSH became ready')),
          (e: unknown) => e,
        )
        .finally(() => process.kill(pid!, 'SIGCONT'));
      expect(error).toBeInstanceOf(BootTimeout);
      const bt = error as BootTimeout;
      expect(bt.vm).toBe(name);
      expect(bt.timeoutMs).toBe(3000);
      expect(bt.consoleTail.length, `console tail of ${m.consoleLog}`).toBeGreaterThan(0);
      expect(bt.message).toContain('console lines');
      return { error, machine: m };
    },
  };
}

async function pidFromFile(path: string): Promise<number | undefined> {
  const n = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
