// The tiny ISO (iso/ builder) booted as a REAL libvirt domain under TCG: SSH must answer on the forwarded
// 127.0.0.1 port with the host key baked into the image (pinned: a wrong key is refused), then the same VM goes
// through a disk snapshot with the ISO attached and a memory save/restore, and stops gracefully (the guest
// powers off on the ACPI button, so `stop` does not fall back to destroy). Prints time-to-SSH and stop time.
// Skipped (failed under CI=true), saying why, when libvirtd does not answer. Every domain is removed in afterAll.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { libvirtUnavailable } from '../../../fixtures/backend-probes.js';
import { describeReal } from '../../../fixtures/real-backend.js';
import { buildImage } from '../../../iso/index.js';
import { HostKeyMismatch } from '../../errors.js';
import type { EmittedEvent } from '../../events.js';
import { projectKeyPair, type KeyPair } from '../../keys.js';
import { harnessPaths, vmFiles } from '../../paths.js';
import { vmSchema } from '../../scenario/schema.js';
import { connectSsh } from '../../ssh/connect.js';
import { LibvirtProvider, type LibvirtStartedMachine } from '../libvirt.js';
import type { BuiltImage } from '../provider.js';
import { domainName } from './naming.js';
import { Virsh } from './virsh.js';
import { sshRun as sshRunOn } from './testing/ssh-run.js';
import { generateEd25519KeyPair } from '../../ssh/keygen.js';

const URI = 'qemu:///system';
const noLibvirt = await libvirtUnavailable(URI);

describeReal('tiny ISO in a real libvirt domain (TCG)', noLibvirt, () => {
  const virsh = new Virsh(URI);
  const name = `test-tiny-${process.pid.toString(36)}`;
  const provider = new LibvirtProvider({ uri: URI, stopGraceMs: 10_000, decideAccel: async () => ({ accel: 'tcg', reason: 'test: TCG forced' }) });
  let root = '';
  let vmsDir = '';
  let keys: KeyPair;
  let image: BuiltImage;

  beforeAll(async () => {
    const paths = harnessPaths();
    keys = await projectKeyPair(paths.keys);
    image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache });
    root = await mkdtemp(join(tmpdir(), 'harness-libvirt-tiny-'));
    await chmod(root, 0o755);
    vmsDir = join(root, 'vms');
  }, 600_000);

  afterAll(async () => {
    const d = domainName(name, vmsDir);
    await virsh.run(['destroy', d]);
    await virsh.run(['undefine', d, '--snapshots-metadata', '--managed-save']);
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Waits for a pinned SSH login and runs one command; returns its stdout. */
  const sshRun = (m: LibvirtStartedMachine, command: string, timeoutMs: number) =>
    sshRunOn(m, { user: image.user, privateKey: keys.privateKey, hostPublicKey: image.hostPublicKey }, command, timeoutMs);

  it('answers SSH on 127.0.0.1 with the pinned host key, survives snapshot and save/restore', async () => {
    expect(image.kind).toBe('iso');
    expect(image.hostPublicKey).toMatch(/^ssh-ed25519 /);
    const events: EmittedEvent[] = [];
    const t0 = performance.now();
    const m = await provider.start({
      name,
      config: vmSchema.parse({ provider: 'libvirt', accel: 'tcg', memory: '256M' }),
      image,
      dir: join(vmsDir, name),
      vmsDir,
      runId: 'tiny-iso-test',
      emit: (e) => events.push(e),
    });
    const tDefined = performance.now();
    const out = await sshRun(m, 'cat /proc/version', 180_000);
    const tSsh = performance.now();
    console.log(`libvirt tiny ISO: start() ${((tDefined - t0) / 1000).toFixed(1)}s, time-to-SSH from start() ${((tSsh - t0) / 1000).toFixed(1)}s`);
    expect(out).toMatch(/^Linux version /);
    expect(await provider.status(name, vmsDir)).toBe('Running');

    // The ISO is recorded as a read-only cdrom volume.
    const cfg = events.find((e) => e.type === 'vm.event' && e.kind === 'ConfigurationUpdated') as unknown as { details: { volumes: Array<Record<string, unknown>> } };
    expect(cfg.details.volumes).toEqual(expect.arrayContaining([expect.objectContaining({ device: 'cdrom', path: image.path, readonly: true, format: 'raw' })]));

    // Pinning: a different host key is refused, not trusted.
    const other = generateEd25519KeyPair();
    await expect(
      connectSsh({ host: m.sshHost, port: m.sshPort, user: image.user, privateKey: keys.privateKey, hostPublicKey: other.public, readyTimeoutMs: 15_000 }),
    ).rejects.toBeInstanceOf(HostKeyMismatch);

    // Disk snapshot with the ISO attached, guest state written, reverted: the file written after it is gone.
    await sshRun(m, 'echo before > /root/mark', 30_000);
    await provider.snapshotCreate(name, vmsDir, 'clean');
    await sshRun(m, 'echo after > /root/mark', 30_000);
    await provider.snapshotRevert(name, vmsDir, 'clean');
    expect((await sshRun(m, 'cat /root/mark', 60_000)).trim()).toBe('before');
    await provider.snapshotDelete(name, vmsDir, 'clean');

    // Memory save/restore: SSH answers again from the restored RAM, guest state intact.
    const state = join(vmsDir, name, 'mem.state');
    await provider.saveMemory(name, vmsDir, state);
    expect(await provider.status(name, vmsDir)).toBe('Stopped');
    const tr = performance.now();
    const back = await provider.restoreMemory(name, vmsDir, state);
    expect((await sshRun(back, 'cat /root/mark', 60_000)).trim()).toBe('before');
    console.log(`libvirt tiny ISO: time-to-SSH after virsh restore ${((performance.now() - tr) / 1000).toFixed(1)}s`);

    // Graceful stop: `virsh shutdown` presses the ACPI button, the guest's acpid runs init's shutdown and powers
    // off within the grace period; a guest that ignored it would be destroyed (reason "destroyed").
    const ts = performance.now();
    await provider.stop(name, vmsDir);
    console.log(`libvirt tiny ISO: stop() took ${((performance.now() - ts) / 1000).toFixed(1)}s`);
    expect(await provider.status(name, vmsDir)).toBe('Stopped');
    expect(await virsh.ok(['domstate', '--reason', back.domain])).toBe('shut off (shutdown)');
    const consoleLog = await readFile(vmFiles(vmsDir, name).log, 'utf8');
    expect(consoleLog).toContain('harness-tiny: powering off');
    expect(consoleLog).toContain('reboot: Power down');
    await provider.clean(name, vmsDir);
    expect(await provider.status(name, vmsDir)).toBe('NotCreated');
  }, 600_000);
});
