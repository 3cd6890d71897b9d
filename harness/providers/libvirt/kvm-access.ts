// libvirtd's 36-second calls. libvirt caches QEMU's capabilities and, on every use, asks whether the cache is
// still valid (virQEMUCapsIsValid). One test there: if the cached probe found KVM enabled, /dev/kvm must still be
// usable, which virQEMUCapsKVMUsable decides by checking read+write access AS THE QEMU USER (libvirt-qemu, group
// kvm on Debian). Where no udev ever ran, /dev/kvm stays devtmpfs's root:root 0600: the probe finds KVM, the
// access check for libvirt-qemu fails, the cache is declared outdated whenever libvirtd looks it up and QEMU is
// re-probed: measured here, `virsh define` 35-44 s instead of 0.02 s, restore +8 s, start +4 s, while plain
// reads (domstate, dumpxml, list) stay fast. udev's rule gives the node root:kvm 0660; applying that is the whole fix.
import { chmodSync, chownSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { systemQemuUser, type QemuUser } from './storage.js';

export interface KvmAccessPaths {
  device?: string;
  qemuConf?: string;
  passwd?: string;
  group?: string;
  /** libvirtd's capability cache (one XML per QEMU binary). */
  capsDir?: string;
}

export interface KvmAccessReport {
  device: string;
  /** false: no /dev/kvm, nothing to invalidate. */
  present: boolean;
  /** e.g. "root:root 0600" */
  mode?: string;
  qemuUser?: QemuUser;
  /** Whether libvirt's qemu user may read and write the device (virQEMUCapsKVMUsable's test). */
  usableByQemuUser?: boolean;
  /** Whether libvirt's cached probe recorded KVM as enabled; undefined when no cache exists yet. */
  cachedKvm?: boolean;
  /** The slow state: libvirt's caches are (or, once probed, will be) invalidated whenever libvirtd consults them. */
  invalidatesCaches: boolean;
  reason: string;
  fix?: string;
}

const DEFAULTS: Required<KvmAccessPaths> = {
  device: '/dev/kvm',
  qemuConf: '/etc/libvirt/qemu.conf',
  passwd: '/etc/passwd',
  group: '/etc/group',
  capsDir: '/var/cache/libvirt/qemu/capabilities',
};

export const UDEV_KVM_FIX = 'chgrp kvm /dev/kvm && chmod 660 /dev/kvm   (udev\'s default; `harness setup` as root applies it)';

/** Whether libvirt's qemu user can use /dev/kvm, and what that does to libvirtd's capability cache. */
export function inspectKvmAccess(paths: KvmAccessPaths = {}): KvmAccessReport {
  const p = { ...DEFAULTS, ...paths };
  let st;
  try {
    st = statSync(p.device);
  } catch {
    return { device: p.device, present: false, invalidatesCaches: false, reason: `${p.device} absent: libvirt's KVM check has nothing to disagree with` };
  }
  const groups = readEntries(p.group);
  const users = readEntries(p.passwd);
  const mode = `${users.byId.get(st.uid) ?? st.uid}:${groups.byId.get(st.gid) ?? st.gid} ${(st.mode & 0o777).toString(8).padStart(4, '0')}`;
  const user = systemQemuUser(p.qemuConf, p.passwd);
  const cachedKvm = readCachedKvm(p.capsDir);
  if (!user) return { device: p.device, present: true, mode, cachedKvm, invalidatesCaches: false, reason: `${p.device} is ${mode}; libvirt's qemu user is not on this host (libvirt not installed?)` };
  const memberOf = new Set([user.gid, ...groups.membersOf(user.name)]);
  const bits = st.mode & 0o777;
  const usable = user.uid === 0 || (st.uid === user.uid ? (bits & 0o600) === 0o600 : memberOf.has(st.gid) ? (bits & 0o060) === 0o060 : (bits & 0o006) === 0o006);
  const base = { device: p.device, present: true, mode, qemuUser: user, usableByQemuUser: usable, cachedKvm };
  if (usable) return { ...base, invalidatesCaches: false, reason: `${p.device} is ${mode}: usable by ${user.name}, libvirt's capability cache stays valid` };
  if (cachedKvm === false) {
    return { ...base, invalidatesCaches: false, reason: `${p.device} is ${mode}: not usable by ${user.name}, but libvirt's cached probe has no KVM, so the cache agrees` };
  }
  return {
    ...base,
    invalidatesCaches: true,
    reason:
      `${p.device} is ${mode}: ${user.name} (libvirt's qemu user) cannot open it while QEMU's probe ${cachedKvm ? 'found' : 'will find'} KVM enabled, ` +
      'so libvirtd declares its capability cache outdated each time it consults it and re-probes QEMU (virsh define 35-44 s instead of 0.02 s)',
    fix: UDEV_KVM_FIX,
  };
}

/**
 * Gives /dev/kvm udev's default (root:kvm 0660) where no udev set it: only when the node is still devtmpfs's
 * root:root 0600 and a kvm group exists. Anything else was set on purpose and is left alone.
 */
export function applyUdevKvmDefault(paths: Pick<KvmAccessPaths, 'device' | 'group'> = {}): { changed: boolean; message: string } {
  const device = paths.device ?? DEFAULTS.device;
  let st;
  try {
    st = statSync(device);
  } catch {
    return { changed: false, message: `${device} absent: nothing to do` };
  }
  const kvmGid = readEntries(paths.group ?? DEFAULTS.group).byName.get('kvm');
  if (st.uid !== 0 || st.gid !== 0 || (st.mode & 0o777) !== 0o600) return { changed: false, message: `${device} already set (not root:root 0600): left as is` };
  if (kvmGid === undefined) return { changed: false, message: `${device} is root:root 0600 but there is no kvm group yet (install libvirt-daemon-system or qemu-system-x86 first)` };
  chownSync(device, 0, kvmGid);
  chmodSync(device, 0o660);
  return { changed: true, message: `${device} was root:root 0600 (no udev set it): applied udev's default root:kvm 0660 so libvirtd's capability cache stays valid` };
}

function readCachedKvm(dir: string): boolean | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.xml'));
  } catch {
    return undefined;
  }
  if (!files.length) return undefined;
  // libvirt writes <flag name='kvm'/> into the cache when its probe found KVM usable.
  return files.some((f) => /<flag name=['"]kvm['"]\/>/.test(safeRead(join(dir, f))));
}

/** /etc/passwd or /etc/group: name<->id, and (for groups) the member list in the 4th field. */
function readEntries(file: string) {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  const members = new Map<string, number[]>();
  for (const line of safeRead(file).split('\n')) {
    const [name, , id, fourth] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    byId.set(Number(id), name);
    byName.set(name, Number(id));
    for (const m of (fourth ?? '').split(',').filter(Boolean)) members.set(m, [...(members.get(m) ?? []), Number(id)]);
  }
  return { byId, byName, membersOf: (user: string) => members.get(user) ?? [] };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

const warnedRuns = new Set<string>();

/**
 * The libvirt provider's once-per-run warning: returns the message the first time a run meets the slow state
 * (undefined afterwards, and whenever the device is fine), so a 36 s `virsh define` never goes unexplained.
 */
export function kvmMismatchWarningOnce(runId: string, inspect: () => KvmAccessReport = inspectKvmAccess): string | undefined {
  if (warnedRuns.has(runId)) return undefined;
  const r = inspect();
  if (!r.invalidatesCaches) return undefined;
  warnedRuns.add(runId);
  return `libvirt will be slow on this host (each domain define re-probes QEMU, 35-44 s): ${r.reason}. Fix: ${r.fix}. Run \`harness doctor\` for details.`;
}
