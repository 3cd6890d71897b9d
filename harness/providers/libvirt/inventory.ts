// What a started domain is made of, for the run record: host URI, UUID, storage volumes and network ports.
// Capacities come from libvirt (`domblkinfo`), formats from the XML or `qemu-img info`; NICs from the XML (our
// qemu:commandline NIC is invisible to `domiflist`) plus whatever `domiflist` lists.
import { readDisks, readNetPorts, type NetPort } from './domain-read.js';
import { imageInfo } from './storage.js';
import type { Virsh } from './virsh.js';

export interface Volume {
  target: string;
  device: string;
  path: string;
  format?: string;
  readonly: boolean;
  capacityBytes?: number;
  allocationBytes?: number;
  physicalBytes?: number;
  backingFile?: string;
}

export interface DomainInventory {
  uri: string;
  domain: string;
  uuid: string;
  volumes: Volume[];
  networkPorts: NetPort[];
}

/** Parses `virsh domblkinfo DOM DEV` ("Capacity:  67108864" lines). */
export function parseBlkInfo(stdout: string): { capacityBytes?: number; allocationBytes?: number; physicalBytes?: number } {
  const get = (k: string) => {
    const m = new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  return { capacityBytes: get('Capacity'), allocationBytes: get('Allocation'), physicalBytes: get('Physical') };
}

/** Parses `virsh -q domiflist DOM` rows: Interface Type Source Model MAC. */
export function parseIfList(stdout: string): NetPort[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((c) => c.length >= 5 && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(c[4]!))
    .map((c) => ({ netdev: c[0]!, type: c[1]!, model: c[3]!, mac: c[4]!, forwards: [], source: 'libvirt' as const }));
}

export async function collectInventory(virsh: Virsh, domain: string, local: boolean): Promise<DomainInventory> {
  const [uuid, xml, ifl] = await Promise.all([
    virsh.ok(['domuuid', domain]),
    virsh.ok(['dumpxml', domain]),
    virsh.run(['domiflist', domain]),
  ]);
  const volumes: Volume[] = [];
  for (const d of readDisks(xml)) {
    const blk = await virsh.run(['domblkinfo', domain, d.target]);
    const v: Volume = { target: d.target, device: d.device, path: d.path, format: d.format, readonly: d.readonly, ...(blk.exitCode === 0 ? parseBlkInfo(blk.stdout) : {}) };
    if (local) {
      const info = await imageInfo(d.path).catch(() => undefined);
      if (info) {
        v.format ??= info.format;
        if (info.backingFile) v.backingFile = info.backingFile;
      }
    }
    volumes.push(v);
  }
  const fromXml = readNetPorts(xml);
  const fromLibvirt = ifl.exitCode === 0 ? parseIfList(ifl.stdout).filter((p) => !fromXml.some((x) => x.mac === p.mac)) : [];
  return { uri: virsh.uri, domain, uuid, volumes, networkPorts: [...fromXml, ...fromLibvirt] };
}
