// The libvirt VM's files in its state dir (vms/<name>/): vm.json (the resolved spec plus where libvirt keeps the
// domain, so status/attach/stop/clean use the URI the VM was started with) and <name>.ports (quickemu's CSV form),
// so `harness vm` commands find a libvirt VM the same way they find a qemu one.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { vmFiles } from '../../paths.js';
import type { Accel } from '../../events.js';
import type { BuiltImage } from '../provider.js';
import type { VmConfig } from '../../scenario/schema.js';
import type { Forward } from './domain-xml.js';

export interface LibvirtVmRecord {
  name: string;
  provider: 'libvirt';
  dir: string;
  config?: VmConfig;
  image?: BuiltImage;
  accel: Accel;
  sshPort: number;
  forwards: Forward[];
  /** Ports the provider reserved through harness/ports.ts (released on stop/clean). */
  reservedPorts?: number[];
  consoleLog: string;
  disk: string;
  runId?: string;
  startedAt: string;
  libvirt: { uri: string; domain: string; uuid?: string; mac: string };
}

export async function writeVmRecord(vmsDir: string, rec: LibvirtVmRecord): Promise<void> {
  const f = vmFiles(vmsDir, rec.name);
  await writeAtomic(f.spec, JSON.stringify(rec, null, 2) + '\n');
  await writeAtomic(f.ports, formatPorts(rec.sshPort, rec.forwards));
}

export async function readVmRecord(vmsDir: string, name: string): Promise<LibvirtVmRecord | undefined> {
  try {
    const rec = JSON.parse(await readFile(vmFiles(vmsDir, name).spec, 'utf8')) as Partial<LibvirtVmRecord>;
    return rec.provider === 'libvirt' && rec.libvirt ? (rec as LibvirtVmRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** `ssh,22220` then one `fwd-<guest>,<host>` line per extra forward. */
export function formatPorts(sshPort: number, forwards: Forward[]): string {
  return [`ssh,${sshPort}`, ...forwards.map((f) => `fwd-${f.guest},${f.host}`)].join('\n') + '\n';
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
