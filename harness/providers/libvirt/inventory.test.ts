// Parsers for virsh tables, fed with output captured from virsh 9.0.
import { describe, expect, it } from 'vitest';
import { parseBlkInfo, parseIfList } from './inventory.js';
import { readDisks } from './domain-read.js';

describe('inventory parsers', () => {
  it('parses domblkinfo', () => {
    expect(parseBlkInfo('Capacity:       67108864\nAllocation:     204800\nPhysical:       196616\n\n')).toEqual({
      capacityBytes: 67108864,
      allocationBytes: 204800,
      physicalBytes: 196616,
    });
    expect(parseBlkInfo('')).toEqual({ capacityBytes: undefined, allocationBytes: undefined, physicalBytes: undefined });
  });

  it('parses domiflist rows and ignores the empty table our qemu:commandline NIC leaves', () => {
    expect(parseIfList('\n')).toEqual([]);
    expect(parseIfList(' vnet0      network   default   virtio   52:54:00:6b:3c:11\n')).toEqual([
      { netdev: 'vnet0', type: 'network', model: 'virtio', mac: '52:54:00:6b:3c:11', forwards: [], source: 'libvirt' },
    ]);
  });

  it('reads disks from libvirt dumpxml, skipping the backing chain', () => {
    // Trimmed from `virsh dumpxml` of a running harness domain (libvirt 9.0).
    const xml = `<disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/tmp/lvx/vm1/disk.qcow2' index='1'/>
      <backingStore type='file' index='2'>
        <format type='qcow2'/>
        <source file='/tmp/lvx/base.qcow2'/>
        <backingStore/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/c/tiny.iso' index='2'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>`;
    expect(readDisks(xml)).toEqual([
      { device: 'disk', target: 'vda', path: '/tmp/lvx/vm1/disk.qcow2', format: 'qcow2', readonly: false },
      { device: 'cdrom', target: 'sda', path: '/c/tiny.iso', format: 'raw', readonly: true },
    ]);
  });
});
