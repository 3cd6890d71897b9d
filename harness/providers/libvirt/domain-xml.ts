// Domain XML for one harness VM: a pure function of its input, so the exact text is pinned by golden files.
// Networking bypasses libvirt: on libvirt 9.0 (Debian 12) the passt <portForward> form is unreliable and a
// bridged network needs root setup, so qemu's own user-mode netdev with hostfwd on 127.0.0.1 is passed through
// <qemu:commandline> (see shared/REFERENCE.md). libvirt therefore does not list that NIC in `domiflist`; we pin
// its MAC ourselves and read it back from the XML.
import type { Accel } from '../../events.js';
import type { DirectBoot } from '../provider.js';

export const HARNESS_XMLNS = 'urn:vm-harness:libvirt:1';
export const QEMU_XMLNS = 'http://libvirt.org/schemas/domain/qemu/1.0';

export interface HarnessMetadata {
  runId: string;
  /** The harness process that owns the domain; a dead pid on this host makes the domain an orphan. */
  pid: number;
  host: string;
  /** The harness VM name (the domain name adds a prefix and a suffix). */
  vm: string;
  /** The VM state dir, so a person can find vm.json from `virsh dumpxml`. */
  dir: string;
  /** Kept on purpose (teardown keep): never reaped. */
  keep?: boolean;
}

export interface Forward {
  host: number;
  guest: number;
}

export interface DomainXmlInput {
  domainName: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  /** The VM's writable qcow2 overlay. */
  disk: string;
  /** Boot CD (the image ISO), attached read-only. */
  iso?: string;
  /** NoCloud seed ISO, attached read-only beside a disk image. */
  seedIso?: string;
  /** Direct kernel boot (the tiny image's kernel and initramfs): replaces the firmware's boot from the CD. */
  kernel?: DirectBoot;
  /** Serial console file. */
  consoleLog: string;
  sshPort: number;
  /** Extra forwards beside SSH. */
  forwards: Forward[];
  mac: string;
  metadata: HarnessMetadata;
}

/** Builds the domain XML. `type='kvm'` only when the caller's probe found KVM working, else `type='qemu'` (TCG). */
export function buildDomainXml(i: DomainXmlInput): string {
  const hostfwd = [{ host: i.sshPort, guest: 22 }, ...i.forwards].map((f) => `hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join(',');
  const cdroms = [i.iso, i.seedIso].filter((p): p is string => p !== undefined);
  const lines = [
    `<domain type='${i.accel === 'kvm' ? 'kvm' : 'qemu'}' xmlns:qemu='${QEMU_XMLNS}'>`,
    `  <name>${esc(i.domainName)}</name>`,
    `  <metadata>`,
    `    ${metadataElement(i.metadata, true)}`,
    `  </metadata>`,
    `  <memory unit='MiB'>${int(i.memoryMiB, 'memoryMiB')}</memory>`,
    `  <vcpu>${int(i.cpus, 'cpus')}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='q35'>hvm</type>`,
    ...(i.kernel
      ? [`    <kernel>${esc(i.kernel.kernel)}</kernel>`, `    <initrd>${esc(i.kernel.initrd)}</initrd>`, `    <cmdline>${esc(i.kernel.cmdline)}</cmdline>`]
      : [...(i.iso ? [`    <boot dev='cdrom'/>`] : []), `    <boot dev='hd'/>`]),
    `  </os>`,
    `  <features>`,
    `    <acpi/>`,
    `    <apic/>`,
    `  </features>`,
    ...(i.accel === 'kvm' ? [`  <cpu mode='host-passthrough'/>`] : []),
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>preserve</on_crash>`,
    `  <devices>`,
    `    <disk type='file' device='disk'>`,
    `      <driver name='qemu' type='qcow2'/>`,
    `      <source file='${esc(i.disk)}'/>`,
    `      <target dev='vda' bus='virtio'/>`,
    `    </disk>`,
    ...cdroms.flatMap((path, n) => [
      `    <disk type='file' device='cdrom'>`,
      `      <driver name='qemu' type='raw'/>`,
      `      <source file='${esc(path)}'/>`,
      `      <target dev='sd${String.fromCharCode(97 + n)}' bus='sata'/>`,
      `      <readonly/>`,
      `    </disk>`,
    ]),
    `    <controller type='usb' model='none'/>`,
    `    <serial type='file'>`,
    `      <source path='${esc(i.consoleLog)}' append='on'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <rng model='virtio'>`,
    `      <backend model='random'>/dev/urandom</backend>`,
    `    </rng>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `  <qemu:commandline>`,
    `    <qemu:arg value='-netdev'/>`,
    `    <qemu:arg value='user,id=n0,${hostfwd}'/>`,
    `    <qemu:arg value='-device'/>`,
    `    <qemu:arg value='virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x10,mac=${mac(i.mac)}'/>`,
    `  </qemu:commandline>`,
    `</domain>`,
  ];
  return lines.join('\n') + '\n';
}

/** The <harness:vm/> element; without the namespace declaration it is what `virsh metadata --set` takes. */
export function metadataElement(m: HarnessMetadata, withNs: boolean): string {
  const attrs = [
    withNs ? `xmlns:harness='${HARNESS_XMLNS}'` : '',
    `owner='vm-harness'`,
    `run-id='${esc(m.runId)}'`,
    `pid='${int(m.pid, 'pid')}'`,
    `host='${esc(m.host)}'`,
    `vm='${esc(m.vm)}'`,
    `dir='${esc(m.dir)}'`,
    m.keep ? `keep='yes'` : '',
  ].filter(Boolean);
  return `<${withNs ? 'harness:' : ''}vm ${attrs.join(' ')}/>`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

function int(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`expected ${what} to be a non-negative integer, found ${n}`);
  return n;
}

function mac(m: string): string {
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new RangeError(`expected a MAC address such as 52:54:00:12:34:56, found ${JSON.stringify(m)}`);
  return m;
}
