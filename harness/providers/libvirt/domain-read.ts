// Reads back what the harness put in a domain's XML (`virsh dumpxml`): the forwarded ports, the NIC we pass
// through <qemu:commandline>, the disks and our metadata. The XML is libvirt's own normalised output, so a few
// anchored patterns are enough; no XML library is needed for these fields.
import type { Forward, HarnessMetadata } from './domain-xml.js';

export interface NetPort {
  /** virtio-net-pci etc. */
  model: string;
  mac?: string;
  netdev: string;
  /** user-mode networking (hostfwd) or whatever libvirt manages. */
  type: string;
  forwards: Forward[];
  source: 'qemu:commandline' | 'libvirt';
}

export interface DomainDisk {
  device: 'disk' | 'cdrom' | string;
  target: string;
  path: string;
  format?: string;
  readonly: boolean;
}

/** Every `hostfwd=tcp:ADDR:HOST-:GUEST` in the qemu:arg values. */
export function readForwards(xml: string): Forward[] {
  const out: Forward[] = [];
  for (const m of xml.matchAll(/hostfwd=tcp:[0-9.]*:(\d+)-[0-9.]*:(\d+)/g)) out.push({ host: Number(m[1]), guest: Number(m[2]) });
  return out;
}

/** The host port forwarded to guest port 22, if any. */
export function readSshPort(xml: string): number | undefined {
  return readForwards(xml).find((f) => f.guest === 22)?.host;
}

/** The NICs: those we pass through qemu:commandline, plus any <interface> libvirt manages. */
export function readNetPorts(xml: string): NetPort[] {
  const args = [...xml.matchAll(/<qemu:arg value=(['"])(.*?)\1\/>/g)].map((m) => unescape(m[2]!));
  const netdevs = new Map<string, { type: string; forwards: Forward[] }>();
  const out: NetPort[] = [];
  args.forEach((a, i) => {
    const v = args[i + 1];
    if (a === '-netdev' && v) {
      const [type = '', ...opts] = v.split(',');
      const id = opts.find((o) => o.startsWith('id='))?.slice(3) ?? '';
      netdevs.set(id, { type, forwards: readForwards(v) });
    }
  });
  args.forEach((a, i) => {
    const v = args[i + 1];
    if (a !== '-device' || !v) return;
    const [model = '', ...opts] = v.split(',');
    const kv = Object.fromEntries(opts.map((o) => o.split('=', 2) as [string, string]));
    if (!kv.netdev) return;
    const nd = netdevs.get(kv.netdev);
    out.push({ model, mac: kv.mac, netdev: kv.netdev, type: nd?.type ?? 'unknown', forwards: nd?.forwards ?? [], source: 'qemu:commandline' });
  });
  for (const m of xml.matchAll(/<interface type=(['"])(\w+)\1[^>]*>([\s\S]*?)<\/interface>/g)) {
    const body = m[3]!;
    out.push({
      model: /<model type=['"]([^'"]+)/.exec(body)?.[1] ?? 'unknown',
      mac: /<mac address=['"]([^'"]+)/.exec(body)?.[1],
      netdev: /<alias name=['"]([^'"]+)/.exec(body)?.[1] ?? '',
      type: m[2]!,
      forwards: [],
      source: 'libvirt',
    });
  }
  return out;
}

export function readDisks(xml: string): DomainDisk[] {
  const out: DomainDisk[] = [];
  for (const m of xml.matchAll(/<disk type=(['"])file\1 device=(['"])(\w+)\2[^>]*>([\s\S]*?)<\/disk>/g)) {
    const body = m[4]!.replace(/<backingStore[\s\S]*?<\/backingStore>/g, '');
    const path = /<source file=(['"])(.*?)\1/.exec(body)?.[2];
    if (!path) continue;
    out.push({
      device: m[3]!,
      target: /<target dev=['"]([^'"]+)/.exec(body)?.[1] ?? '',
      path: unescape(path),
      format: /<driver name=['"]qemu['"] type=['"]([^'"]+)/.exec(body)?.[1],
      readonly: /<readonly\/>/.test(body),
    });
  }
  return out;
}

/** Parses `<harness:vm .../>` (dumpxml) or `<vm .../>` (`virsh metadata --uri`); undefined when it isn't ours. */
export function readMetadata(xml: string): HarnessMetadata | undefined {
  const m = /<(?:harness:)?vm\s([^>]*?)\/?>/.exec(xml);
  if (!m) return undefined;
  const attrs = Object.fromEntries([...m[1]!.matchAll(/([\w:-]+)=(['"])(.*?)\2/g)].map((a) => [a[1]!, unescape(a[3]!)]));
  if (attrs.owner !== 'vm-harness') return undefined;
  const pid = Number(attrs.pid);
  return {
    runId: attrs['run-id'] ?? '',
    pid: Number.isInteger(pid) ? pid : -1,
    host: attrs.host ?? '',
    vm: attrs.vm ?? '',
    dir: attrs.dir ?? '',
    ...(attrs.keep === 'yes' ? { keep: true } : {}),
  };
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}
