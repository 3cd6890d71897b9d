// probe(): what `harness doctor` prints for libvirt. Each case runs the real virsh (or its absence) and real ssh.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { itReal } from '../../../fixtures/real-backend.js';
import { LibvirtProvider } from '../libvirt.js';

const noVirsh = existsSync('/usr/bin/virsh') ? undefined : '/usr/bin/virsh not found (fix: apt-get install -y libvirt-clients)';

describe('LibvirtProvider.probe', () => {
  it('without virsh: not available, with the apt command that installs it', async () => {
    const r = await new LibvirtProvider({ virshBinary: '/nonexistent/virsh' }).probe();
    expect(r).toMatchObject({ provider: 'libvirt', available: false, fix: 'apt-get install -y libvirt-daemon-system libvirt-clients' });
    expect(r.reason).toMatch(/^virsh is not installed/);
  });

  itReal('with no daemon behind the URI: not available, saying what virsh said', noVirsh, async () => {
    // ssh to a closed port on 127.0.0.1: the connection is refused at once.
    const r = await new LibvirtProvider({ uri: 'qemu+ssh://127.0.0.1:1/system' }).probe();
    expect(r.available).toBe(false);
    expect(r.reason).toMatch(/^libvirtd does not answer on qemu\+ssh:\/\/127\.0\.0\.1:1\/system: .*Connection refused/);
    expect(r.fix).toBe('check that `ssh 127.0.0.1` works and libvirtd runs there');
  });

  it('rejects an invalid URI at construction, before any virsh call', () => {
    expect(() => new LibvirtProvider({ uri: 'qemu+tcp://h/system' })).toThrow(/expected a libvirt URI/);
  });
});
