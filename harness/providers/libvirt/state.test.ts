// The domstate -> harness status mapping, driven by virsh output captured from a real libvirtd (golden/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VmStatus } from '../../events.js';
import { isActive, mapDomState, parseDomState } from './state.js';
import { isNotFound } from './virsh.js';

interface Sample {
  stdout: string;
  status: VmStatus | 'running';
}
const samples = JSON.parse(readFileSync(join(import.meta.dirname, 'golden', 'domstate-samples.json'), 'utf8')) as {
  captured: Sample[];
  notFound: { stderr: string };
  fromVirshSource: { samples: Sample[] };
};

async function statusOf(stdout: string, ssh: boolean): Promise<VmStatus> {
  return mapDomState(parseDomState(stdout), async () => ssh);
}

describe('domstate mapping', () => {
  for (const s of [...samples.captured, ...samples.fromVirshSource.samples]) {
    it(`${JSON.stringify(s.stdout.trim())} -> ${s.status === 'running' ? 'Running/Starting by SSH' : s.status}`, async () => {
      if (s.status === 'running') {
        expect(await statusOf(s.stdout, true)).toBe('Running');
        expect(await statusOf(s.stdout, false)).toBe('Starting');
      } else {
        expect(await statusOf(s.stdout, true)).toBe(s.status);
      }
    });
  }

  it('asks SSH only for a running domain', async () => {
    let asked = 0;
    const probe = async () => {
      asked++;
      return true;
    };
    await mapDomState(parseDomState('shut off (destroyed)\n'), probe);
    await mapDomState(parseDomState('paused (user)\n'), probe);
    expect(asked).toBe(0);
    await mapDomState(parseDomState('running (booted)\n'), probe);
    expect(asked).toBe(1);
  });

  it('no domain -> NotCreated; the real "not found" stderr is recognised', async () => {
    expect(await mapDomState(undefined, async () => true)).toBe('NotCreated');
    expect(isNotFound(samples.notFound.stderr)).toBe(true);
    expect(isNotFound("error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory")).toBe(false);
  });

  it('rejects output that is not a domain state', () => {
    expect(parseDomState('')).toBeUndefined();
    expect(parseDomState('error: something\n')).toBeUndefined();
    expect(parseDomState('exploded (badly)\n')).toBeUndefined();
  });

  it('isActive: qemu up for running/paused/in shutdown, not for shut off/crashed/absent', () => {
    expect(isActive(parseDomState('running (booted)'))).toBe(true);
    expect(isActive(parseDomState('paused (user)'))).toBe(true);
    expect(isActive(parseDomState('in shutdown (user)'))).toBe(true);
    expect(isActive(parseDomState('shut off (saved)'))).toBe(false);
    expect(isActive(parseDomState('crashed (panicked)'))).toBe(false);
    expect(isActive(undefined)).toBe(false);
  });
});
