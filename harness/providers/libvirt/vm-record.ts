// The libvirt part of vm.json. The record itself is the shared VmRecord (harness/vm-record.ts), so
// `harness vm` commands and crash reaping read a libvirt VM like a qemu one; what only libvirt needs (which
// daemon, which domain, which ports we reserved) sits under `extra.libvirt`.
import type { VmRecord } from '../../vm-record.js';

export interface LibvirtExtra {
  uri: string;
  domain: string;
  uuid?: string;
  mac: string;
  /** Ports this provider reserved through harness/ports.ts (released on stop/clean); fixed ports are not ours. */
  reservedPorts: number[];
}

export function libvirtExtra(rec: VmRecord | undefined): LibvirtExtra | undefined {
  const x = rec?.provider === 'libvirt' ? (rec.extra?.libvirt as LibvirtExtra | undefined) : undefined;
  return x && typeof x.uri === 'string' && typeof x.domain === 'string' ? x : undefined;
}
