// The libvirt provider's warning about /dev/kvm, against a real libvirtd: a start that meets the slow state (here
// reported by an injected inspector, so the host's /dev/kvm is never changed under other suites) emits one warn
// event naming the cause and `harness doctor`, once per run. The start is made to fail right after (its state dir
// is unreachable for libvirt-qemu), so no domain is ever defined.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../../fixtures/real-backend.js';
import type { EmittedEvent } from '../../events.js';
import { vmSchema } from '../../scenario/schema.js';
import { LibvirtProvider } from '../libvirt.js';
import type { MachineSpec } from '../provider.js';
import { UDEV_KVM_FIX, type KvmAccessReport } from './kvm-access.js';

const probe = await new LibvirtProvider({ uri: 'qemu:///system' }).probe();
const slow: KvmAccessReport = { device: '/dev/kvm', present: true, mode: 'root:root 0600', invalidatesCaches: true, reason: '/dev/kvm is root:root 0600: libvirt-qemu cannot open it', fix: UDEV_KVM_FIX };
// One virsh call (domstate) per start: 35 s each in the slow state this test only pretends to be in.
const START_MS = 120_000;

describeReal('libvirt provider warns about /dev/kvm once per run (real libvirtd)', !probe.available && `${probe.reason} (fix: ${probe.fix})`, () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kvm-warning-'));
    await chmod(work, 0o700); // libvirt-qemu cannot search it: start fails before defining anything
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const spec = (name: string, runId: string, events: EmittedEvent[]): MachineSpec => ({
    name,
    config: vmSchema.parse({ provider: 'libvirt', accel: 'tcg', memory: '128M' }),
    image: { kind: 'disk', path: join(work, 'base.qcow2'), user: 'root', builder: 'test-blank', cacheKey: 'blank' },
    dir: join(work, 'vms', name),
    vmsDir: join(work, 'vms'),
    runId,
    emit: (e) => events.push(e),
  });

  itReal('warns on the first start of a run, not on the second, and again in a new run', undefined, async () => {
    await mkdir(join(work, 'vms'), { recursive: true });
    await writeFile(join(work, 'base.qcow2'), '');
    const provider = new LibvirtProvider({ uri: 'qemu:///system', inspectKvmAccess: () => slow, portsDir: join(work, 'ports') });
    const runId = `kvmwarn-${process.pid}`;
    const warnings = async (name: string, run: string) => {
      const events: EmittedEvent[] = [];
      await expect(provider.start(spec(name, run, events))).rejects.toThrow(/cannot reach/);
      return events.filter((e) => e.type === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
    };
    const first = await warnings('a', runId);
    expect(first).toHaveLength(1);
    expect(first[0]).toContain('root:root 0600');
    expect(first[0]).toContain('harness doctor');
    expect(first[0]).toContain('chgrp kvm /dev/kvm');
    expect(await warnings('b', runId)).toEqual([]);
    expect(await warnings('c', `${runId}-next`)).toHaveLength(1);
  }, 3 * START_MS);
});
