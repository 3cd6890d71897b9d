// The libvirt provider against a REAL libvirtd (qemu:///system), TCG domains. The guest here boots nothing (an
// empty qcow2 overlay on a blank base): enough to prove define/start/domstate/attach/save/restore/snapshots/
// stop/clean and reaping without waiting for an OS. Skipped (failed under CI=true), saying why, when libvirtd does
// not answer.
// Every domain is named harness-test-* and removed in afterAll, whatever happened.
import { execa } from 'execa';
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { libvirtUnavailable } from '../../../fixtures/backend-probes.js';
import { describeReal } from '../../../fixtures/real-backend.js';
import { ProviderUnavailable } from '../../errors.js';
import type { EmittedEvent } from '../../events.js';
import { vmSchema } from '../../scenario/schema.js';
import { LibvirtProvider } from '../libvirt.js';
import type { BuiltImage, MachineSpec } from '../provider.js';
import { buildDomainXml } from './domain-xml.js';
import { domainName, macFor } from './naming.js';
import { listHarnessDomains, readDomainMetadata, reapOrphanDomains } from './reap.js';
import { Virsh } from './virsh.js';
import { libvirtTestTimeout } from './testing/timeouts.js';
import { livePid } from '../vm-state.js';
import { writeVmRecord, type VmRecord } from '../../vm-record.js';

const URI = 'qemu:///system';
const virsh = new Virsh(URI);
const noLibvirt = await libvirtUnavailable(URI);

const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const definedHere = new Set<string>();
let root = '';
let vmsDir = '';
let base = '';

async function removeDomain(d: string): Promise<void> {
  await virsh.run(['destroy', d]);
  await virsh.run(['undefine', d, '--snapshots-metadata', '--managed-save']);
}

function specFor(name: string, events: EmittedEvent[], extra: Record<string, unknown> = {}): MachineSpec {
  const image: BuiltImage = { kind: 'disk', path: base, user: 'root', builder: 'test-blank', cacheKey: 'blank' };
  definedHere.add(domainName(name, vmsDir));
  return {
    name,
    config: vmSchema.parse({ provider: 'libvirt', accel: 'tcg', memory: '128M', ports: [{ guest: 80 }], ...extra }),
    image,
    dir: join(vmsDir, name),
    vmsDir,
    runId: `run-${suffix}`,
    emit: (e) => events.push(e),
  };
}

describeReal('LibvirtProvider against a real libvirtd (TCG)', noLibvirt, () => {
  const portsDir = join(tmpdir(), `harness-test-ports-${suffix}`);
  const provider = new LibvirtProvider({
    uri: URI,
    stopGraceMs: 3000,
    decideAccel: async () => ({ accel: 'tcg', reason: 'test: TCG forced' }),
    portsDir,
  });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'harness-libvirt-')); // 0700: qemu (libvirt-qemu) cannot enter yet
    vmsDir = join(root, 'vms');
    base = join(root, 'base.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']);
  });

  afterAll(async () => {
    for (const d of definedHere) await removeDomain(d);
    // Anything else this process defined under the test prefix (belt and braces).
    for (const d of await listHarnessDomains(virsh, 'harness-test-').catch(() => [])) if (d.meta.pid === process.pid) await removeDomain(d.domain);
    if (root) await rm(root, { recursive: true, force: true });
    await rm(portsDir, { recursive: true, force: true });
  });

  it('refuses, naming the directory, when qemu cannot reach the state dir (0700 parent)', async () => {
    const events: EmittedEvent[] = [];
    const err = await provider.start(specFor(`test-perm-${suffix}`, events)).catch((e: unknown) => e);
    await chmod(root, 0o755); // the other tests need it; the assertions below read what was caught
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect((err as Error).message).toContain(`${root} is not searchable by libvirt-qemu`);
    expect((err as ProviderUnavailable).fix).toBe(`chmod o+x ${root}   (or move the state/cache dirs with HARNESS_VMS_DIR / HARNESS_CACHE_DIR, or use qemu:///session)`);
    expect((await virsh.run(['domstate', domainName(`test-perm-${suffix}`, vmsDir)])).exitCode).toBe(1);
  }, libvirtTestTimeout(0, 60_000));

  it('runs the whole lifecycle: start, status, attach, snapshots, save/restore, stop, clean', async () => {
    const name = `test-life-${suffix}`;
    const domain = domainName(name, vmsDir);
    const events: EmittedEvent[] = [];
    expect(await provider.status(name, vmsDir)).toBe('NotCreated');

    const m = await provider.start(specFor(name, events));
    expect(m.domain).toBe(domain);
    expect(domain.startsWith('harness-test-life-')).toBe(true);
    expect((await virsh.ok(['domstate', domain]))).toBe('running');
    expect(m.accel).toBe('tcg');
    expect(await virsh.ok(['dumpxml', domain])).toMatch(/^<domain type='qemu'/);
    expect(await m.isAlive()).toBe(true);

    // qemu listens on the forwarded ports, on 127.0.0.1, but nothing in the guest answers SSH: Starting.
    await new Promise<void>((ok, fail) => connect(m.sshPort, '127.0.0.1').on('connect', function (this: import('node:net').Socket) { this.destroy(); ok(); }).on('error', fail));
    expect(await provider.status(name, vmsDir)).toBe('Starting');
    expect(m.forwards[80]).toBeGreaterThan(0);

    // State dir: vm.json, the ports file, the console log libvirt writes to, the overlay on the base.
    const files = await readdir(join(vmsDir, name));
    expect(files).toEqual(expect.arrayContaining(['vm.json', `${name}.ports`, `${name}.log`, `${name}.pid`, 'disk.qcow2', 'domain.xml']));
    expect(await readFile(join(vmsDir, name, `${name}.ports`), 'utf8')).toBe(`ssh,${m.sshPort}\nforward-80,${m.forwards[80]}\n`);
    const rec = JSON.parse(await readFile(join(vmsDir, name, 'vm.json'), 'utf8'));
    const uuid = await virsh.ok(['domuuid', domain]);
    expect(rec).toMatchObject({ provider: 'libvirt', sshPort: m.sshPort, ownerPid: process.pid, accel: 'tcg', forwards: { 80: m.forwards[80] } });
    expect(rec.extra.libvirt).toEqual({ uri: URI, domain, uuid, mac: macFor(domain), reservedPorts: [m.sshPort, m.forwards[80]] });
    // The shared pidfile tools see the qemu process libvirt runs for us.
    expect(await livePid(vmsDir, name)).toBe(m.pid);

    // Recorded data: the ConfigurationUpdated event carries uuid, volumes and NICs read back from libvirt.
    const cfg = events.find((e) => e.type === 'vm.event' && e.kind === 'ConfigurationUpdated');
    expect(cfg).toBeDefined();
    const details = (cfg as { details: Record<string, any> }).details;
    expect(details.uuid).toBe(uuid);
    expect(details.uri).toBe(URI);
    expect(details.volumes).toEqual([
      expect.objectContaining({ target: 'vda', device: 'disk', path: join(vmsDir, name, 'disk.qcow2'), format: 'qcow2', capacityBytes: 64 * 1024 * 1024, backingFile: base }),
    ]);
    expect(details.networkPorts).toEqual([expect.objectContaining({ model: 'virtio-net-pci', mac: macFor(domain), type: 'user' })]);
    expect(events.find((e) => e.type === 'vm.accel')).toMatchObject({ accel: 'tcg', reason: 'test: TCG forced' });

    // attach reads the ports back from the live XML.
    const again = await provider.attach(name, vmsDir);
    expect(again?.sshPort).toBe(m.sshPort);
    expect(again?.forwards).toEqual(m.forwards);
    expect(again?.pid).toBe(m.pid);

    // Ours, and alive: listed, never reaped.
    const listed = (await provider.listHarnessDomains()).find((d) => d.domain === domain);
    expect(listed?.meta).toMatchObject({ pid: process.pid, host: hostname(), vm: name, runId: `run-${suffix}` });
    expect(await provider.reapOrphanDomains()).not.toContain(domain);
    // Kept on purpose: spared even when its harness pid is taken for dead (the check is limited to this domain).
    await provider.markKept(name, vmsDir);
    expect((await readDomainMetadata(virsh, domain))?.keep).toBe(true);
    expect(await reapOrphanDomains(virsh, { prefix: domain, isPidAlive: () => false })).toEqual([]);
    expect(await virsh.ok(['domstate', domain])).toBe('running');

    // Disk snapshots (internal, with RAM).
    await provider.snapshotCreate(name, vmsDir, 's1');
    expect(await provider.snapshotList(name, vmsDir)).toEqual(['s1']);
    await provider.snapshotRevert(name, vmsDir, 's1');
    expect(await virsh.ok(['domstate', '--reason', domain])).toBe('running (from snapshot)');
    await provider.snapshotDelete(name, vmsDir, 's1');
    expect(await provider.snapshotList(name, vmsDir)).toEqual([]);

    // Memory snapshot: save stops the domain, restore brings it back with the same forwards.
    const state = join(vmsDir, name, 'mem.state');
    await provider.saveMemory(name, vmsDir, state);
    expect(await provider.status(name, vmsDir)).toBe('Stopped');
    expect(await m.isAlive()).toBe(false);
    expect((await stat(state)).size).toBeGreaterThan(100_000);
    const restored = await provider.restoreMemory(name, vmsDir, state);
    expect(await virsh.ok(['domstate', '--reason', domain])).toBe('running (restored)');
    expect(restored.sshPort).toBe(m.sshPort);

    // The console log libvirt (virtlogd) writes: a line with a token stands in for a guest printing one.
    const consoleLog = join(vmsDir, name, `${name}.log`);
    await appendFile(consoleLog, 'token=deadbeef-1c2d-4e5f-8a9b-0123456789ab\n');

    // stop: the empty guest ignores ACPI, so the grace period runs out and the domain is destroyed.
    await provider.stop(name, vmsDir);
    // ... and the console log, no longer written, is redacted.
    expect(await readFile(consoleLog, 'utf8')).toContain('token=[REDACTED]\n');
    expect(await readFile(consoleLog, 'utf8')).not.toContain('deadbeef');
    expect(await provider.status(name, vmsDir)).toBe('Stopped');
    expect(await provider.attach(name, vmsDir)).toBeUndefined();
    await provider.stop(name, vmsDir); // idempotent

    await provider.clean(name, vmsDir, { preserveDisk: true });
    expect(await provider.status(name, vmsDir)).toBe('NotCreated');
    expect(await readdir(join(vmsDir, name))).toEqual(['disk.qcow2']);
    await provider.clean(name, vmsDir);
    await expect(stat(join(vmsDir, name))).rejects.toThrow(/ENOENT/);
  }, libvirtTestTimeout(1, 120_000));

  it('leaves nothing behind when virsh start fails (SSH port already taken)', async () => {
    const name = `test-fail-${suffix}`;
    const domain = domainName(name, vmsDir);
    const blocker = createServer();
    await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
    const port = (blocker.address() as import('node:net').AddressInfo).port;
    try {
      const err = await provider.start(specFor(name, [], { sshPort: Math.max(port, 1024), ports: [] })).catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/virsh .* start .*(hostfwd|host forwarding)/is);
      expect((await virsh.run(['domstate', domain])).exitCode).toBe(1); // undefined again
      await expect(stat(join(vmsDir, name, 'disk.qcow2'))).rejects.toThrow(/ENOENT/); // the overlay it made is gone
    } finally {
      blocker.close();
    }
  }, libvirtTestTimeout(1, 60_000));

  it('reaps only its own orphans: dead harness pid on this host, not kept, with harness metadata', async () => {
    const child = execa('true');
    const dead = child.pid!;
    await child; // now a pid that has exited
    const cases = {
      orphan: { pid: dead, host: hostname(), keep: false, meta: true },
      kept: { pid: dead, host: hostname(), keep: true, meta: true },
      live: { pid: process.pid, host: hostname(), keep: false, meta: true },
      otherhost: { pid: dead, host: 'some-other-host', keep: false, meta: true },
      foreign: { pid: dead, host: hostname(), keep: false, meta: false },
      recordkept: { pid: dead, host: hostname(), keep: false, meta: true },
    };
    // `recordkept`: the domain's metadata says nothing, but its vm.json says the run kept it (session.ts does this).
    const recDir = join(root, 'reapvms');
    await mkdir(join(recDir, 'recordkept'), { recursive: true });
    await writeVmRecord(recDir, { name: 'recordkept', provider: 'libvirt', ownerPid: dead, kept: true } as unknown as VmRecord);
    const names: Record<string, string> = {};
    for (const [tag, c] of Object.entries(cases)) {
      const d = `harness-test-reap-${tag}-${suffix}`;
      names[tag] = d;
      definedHere.add(d);
      let xml = buildDomainXml({
        domainName: d, accel: 'tcg', memoryMiB: 64, cpus: 1, disk: base, consoleLog: join(root, `${d}.log`), sshPort: 29999, forwards: [], mac: macFor(d),
        metadata: { runId: 'r', pid: c.pid, host: c.host, vm: tag, dir: tag === 'recordkept' ? join(recDir, 'recordkept') : join(root, 'none', tag), keep: c.keep },
      });
      if (!c.meta) xml = xml.replace(/  <metadata>[\s\S]*?<\/metadata>\n/, '');
      const xmlPath = join(root, `${d}.xml`);
      await writeFile(xmlPath, xml);
      await virsh.ok(['define', xmlPath]);
    }
    const reaped = await provider.reapOrphanDomains();
    expect(reaped).toContain(names.orphan);
    const spared = [names.kept!, names.live!, names.otherhost!, names.foreign!, names.recordkept!];
    for (const d of spared) expect(reaped).not.toContain(d);
    expect((await virsh.run(['domstate', names.orphan!])).exitCode).toBe(1);
    for (const d of spared) expect(await virsh.ok(['domstate', d])).toBe('shut off');
    const mine = (await provider.listHarnessDomains()).map((d) => d.domain);
    expect(mine).toEqual(expect.arrayContaining([names.kept, names.live, names.otherhost]));
    expect(mine).not.toContain(names.foreign);
  }, libvirtTestTimeout(6, 60_000));
});
