// Golden-file tests for the domain XML: the exact text is pinned, so any change to what we hand libvirt shows up
// in review. Regenerate with UPDATE_GOLDEN=1 after checking the new text by hand (refused under CI: fixtures/golden.ts).
// Each golden file is also checked against libvirt's own RelaxNG schema by virt-xml-validate (skipped where it is
// not installed, failed under CI=true).
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectGolden } from '../../../fixtures/golden.js';
import { describeReal } from '../../../fixtures/real-backend.js';
import { buildDomainXml, metadataElement, type DomainXmlInput } from './domain-xml.js';
import { readDisks, readForwards, readMetadata, readNetPorts, readSshPort } from './domain-read.js';

const GOLDEN = join(import.meta.dirname, 'golden');

const base: DomainXmlInput = {
  domainName: 'harness-web-0123abcd',
  accel: 'tcg',
  memoryMiB: 512,
  cpus: 1,
  disk: '/work/vms/web/disk.qcow2',
  consoleLog: '/work/vms/web/web.log',
  sshPort: 22220,
  forwards: [],
  mac: '52:54:00:12:34:56',
  metadata: { runId: 'run-1', pid: 4242, host: 'ci-host', vm: 'web', dir: '/work/vms/web' },
};

const cases: Record<string, DomainXmlInput> = {
  'tcg-disk': base,
  'tcg-iso-forwards': { ...base, iso: '/work/.harness/cache/tiny/abc/tiny.iso', forwards: [{ host: 28080, guest: 80 }, { host: 25432, guest: 5432 }] },
  'kvm-iso': { ...base, accel: 'kvm', cpus: 2, memoryMiB: 1024, iso: '/cache/tiny.iso' },
  'tcg-iso-kernel': { ...base, iso: '/cache/tiny.iso', kernel: { kernel: '/cache/vmlinuz', initrd: '/cache/initrd.gz', cmdline: 'console=ttyS0,115200 quiet' } },
  'kvm-disk-seed': { ...base, accel: 'kvm', seedIso: '/cache/seed.iso', metadata: { ...base.metadata, keep: true } },
};

const noValidator = existsSync('/usr/bin/virt-xml-validate') ? undefined : 'virt-xml-validate not installed (fix: apt-get install -y libvirt-clients)';

describe('buildDomainXml golden files', () => {
  for (const [name, input] of Object.entries(cases)) {
    it(`${name} matches golden/${name}.xml`, async () => {
      const xml = buildDomainXml(input);
      const file = join(GOLDEN, `${name}.xml`);
      expectGolden(file, xml);
    });
  }
});

describeReal("golden domain XML against libvirt's RelaxNG schema", noValidator, () => {
  for (const name of Object.keys(cases)) {
    it(`golden/${name}.xml validates (virt-xml-validate)`, async () => {
      const r = await execa('virt-xml-validate', [join(GOLDEN, `${name}.xml`), 'domain'], { reject: false });
      expect(r.stderr + r.stdout).toContain('validates');
      expect(r.exitCode).toBe(0);
    });
  }
});

describe('buildDomainXml rules', () => {
  it("uses type='kvm' only when told KVM works, else type='qemu' (TCG)", () => {
    expect(buildDomainXml(base)).toMatch(/^<domain type='qemu' /);
    expect(buildDomainXml({ ...base, accel: 'kvm' })).toMatch(/^<domain type='kvm' /);
    expect(buildDomainXml(base)).not.toContain('host-passthrough');
  });

  it('attaches the ISO as a read-only cdrom and boots it first', () => {
    const xml = buildDomainXml({ ...base, iso: '/c/tiny.iso' });
    expect(xml).toMatch(/<disk type='file' device='cdrom'>[\s\S]*?<source file='\/c\/tiny.iso'\/>[\s\S]*?<readonly\/>/);
    expect(xml.indexOf("<boot dev='cdrom'/>")).toBeLessThan(xml.indexOf("<boot dev='hd'/>"));
    expect(buildDomainXml(base)).not.toContain('cdrom');
  });

  it('forwards SSH and extra ports on 127.0.0.1 only, and they read back', () => {
    const xml = buildDomainXml({ ...base, forwards: [{ host: 28080, guest: 80 }] });
    expect(xml).toContain("value='user,id=n0,hostfwd=tcp:127.0.0.1:22220-:22,hostfwd=tcp:127.0.0.1:28080-:80'");
    expect(xml).toContain('virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x10,mac=52:54:00:12:34:56');
    expect(readSshPort(xml)).toBe(22220);
    expect(readForwards(xml)).toEqual([{ host: 22220, guest: 22 }, { host: 28080, guest: 80 }]);
    expect(readNetPorts(xml)).toEqual([
      { model: 'virtio-net-pci', mac: '52:54:00:12:34:56', netdev: 'n0', type: 'user', forwards: readForwards(xml), source: 'qemu:commandline' },
    ]);
  });

  it('escapes paths and names that would break the XML', () => {
    const xml = buildDomainXml({ ...base, disk: "/tmp/a'b&c<d>/disk.qcow2" });
    expect(xml).toContain("<source file='/tmp/a&apos;b&amp;c&lt;d&gt;/disk.qcow2'/>");
    expect(readDisks(xml)[0]?.path).toBe("/tmp/a'b&c<d>/disk.qcow2");
  });

  it('rejects a malformed MAC or a non-integer size with what was expected', () => {
    expect(() => buildDomainXml({ ...base, mac: '52:54:00:zz:00:00' })).toThrow(/expected a MAC address .* found "52:54:00:zz:00:00"/);
    expect(() => buildDomainXml({ ...base, memoryMiB: 1.5 })).toThrow(/expected memoryMiB to be a non-negative integer, found 1.5/);
  });

  it('metadata round-trips, including keep, and a foreign element is not ours', () => {
    const meta = { runId: 'r"1', pid: 77, host: 'h', vm: 'web', dir: '/d', keep: true };
    expect(readMetadata(metadataElement(meta, true))).toEqual(meta);
    // The form `virsh metadata --uri` prints (captured from libvirt 9.0):
    expect(readMetadata('<vm run-id="r1" pid="123" owner="vm-harness"/>')).toEqual({ runId: 'r1', pid: 123, host: '', vm: '', dir: '' });
    expect(readMetadata('<vm run-id="r1" pid="123" owner="someone-else"/>')).toBeUndefined();
  });
});
