// The /dev/kvm state that makes every libvirtd call re-probe QEMU, on real files with real owners and modes
// (a temp file stands in for the device node: statSync/chown/chmod treat both alike). Needs root for chown.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeReal } from '../../../fixtures/real-backend.js';
import { rootUnavailable } from '../../../fixtures/backend-probes.js';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyUdevKvmDefault, inspectKvmAccess, kvmMismatchWarningOnce, UDEV_KVM_FIX, type KvmAccessReport } from './kvm-access.js';

const notRoot = rootUnavailable('chown of the stand-in device node');
const KVM_GID = 4108;
const QEMU_UID = 64055;

let dir: string;
let paths: { device: string; qemuConf: string; passwd: string; group: string; capsDir: string };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvm-access-'));
  paths = { device: join(dir, 'kvm'), qemuConf: join(dir, 'qemu.conf'), passwd: join(dir, 'passwd'), group: join(dir, 'group'), capsDir: join(dir, 'caps') };
  writeFileSync(paths.device, '');
  writeFileSync(paths.qemuConf, '#user = "root"\n');
  writeFileSync(paths.passwd, `root:x:0:0:root:/root:/bin/bash\nlibvirt-qemu:x:${QEMU_UID}:${KVM_GID}:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n`);
  writeFileSync(paths.group, `root:x:0:\nkvm:x:${KVM_GID}:\nlibvirt:x:4109:root\n`);
  mkdirSync(paths.capsDir);
  writeFileSync(join(paths.capsDir, 'abc.xml'), "<qemuCaps>\n  <flag name='tcg'/>\n  <flag name='kvm'/>\n</qemuCaps>\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function setDevice(uid: number, gid: number, mode: number) {
  chownSync(paths.device, uid, gid);
  chmodSync(paths.device, mode);
}

describeReal('inspectKvmAccess (libvirt capability cache vs /dev/kvm)', notRoot, () => {
  it('root:root 0600 with KVM in the cached probe: every call invalidates the cache, with the udev fix', () => {
    setDevice(0, 0, 0o600);
    const r = inspectKvmAccess(paths);
    expect(r).toMatchObject({ present: true, mode: 'root:root 0600', usableByQemuUser: false, cachedKvm: true, invalidatesCaches: true });
    expect(r.qemuUser).toMatchObject({ name: 'libvirt-qemu', uid: QEMU_UID });
    expect(r.reason).toContain('libvirt-qemu (libvirt\'s qemu user) cannot open it while QEMU\'s probe found KVM enabled');
    expect(r.fix).toMatch(/^chgrp kvm \/dev\/kvm && chmod 660 \/dev\/kvm/);
  });

  it('root:root 0600 before libvirtd ever probed: reported as what will happen', () => {
    setDevice(0, 0, 0o600);
    rmSync(paths.capsDir, { recursive: true });
    const r = inspectKvmAccess(paths);
    expect(r).toMatchObject({ cachedKvm: undefined, invalidatesCaches: true });
    expect(r.reason).toContain('will find KVM enabled');
  });

  it("udev's root:kvm 0660: usable by libvirt-qemu through its primary group, cache valid", () => {
    setDevice(0, KVM_GID, 0o660);
    const r = inspectKvmAccess(paths);
    expect(r).toMatchObject({ mode: 'root:kvm 0660', usableByQemuUser: true, invalidatesCaches: false });
    expect(r.fix).toBeUndefined();
  });

  it('a supplementary group counts as libvirt does (virFileAccessibleAs sets the user\'s groups)', () => {
    writeFileSync(paths.passwd, `root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:${QEMU_UID}:4200::/:/bin/false\n`);
    writeFileSync(paths.group, `root:x:0:\nkvm:x:${KVM_GID}:someone,libvirt-qemu\n`);
    setDevice(0, KVM_GID, 0o660);
    expect(inspectKvmAccess(paths)).toMatchObject({ usableByQemuUser: true, invalidatesCaches: false });
    writeFileSync(paths.group, `root:x:0:\nkvm:x:${KVM_GID}:someone\n`);
    expect(inspectKvmAccess(paths)).toMatchObject({ usableByQemuUser: false, invalidatesCaches: true });
  });

  it('a cached probe without KVM agrees with an unusable device: no invalidation', () => {
    setDevice(0, 0, 0o600);
    writeFileSync(join(paths.capsDir, 'abc.xml'), "<qemuCaps>\n  <flag name='tcg'/>\n</qemuCaps>\n");
    expect(inspectKvmAccess(paths)).toMatchObject({ cachedKvm: false, invalidatesCaches: false });
  });

  it('qemu.conf user = "root": root opens anything, no invalidation', () => {
    setDevice(0, 0, 0o600);
    writeFileSync(paths.qemuConf, 'user = "root"\n');
    expect(inspectKvmAccess(paths)).toMatchObject({ usableByQemuUser: true, invalidatesCaches: false });
  });

  it('no device node: nothing to invalidate', () => {
    rmSync(paths.device);
    expect(inspectKvmAccess(paths)).toMatchObject({ present: false, invalidatesCaches: false });
  });
});

describeReal('applyUdevKvmDefault', notRoot, () => {
  it('root:root 0600 becomes root:kvm 0660, once; the cache check then passes', () => {
    setDevice(0, 0, 0o600);
    const first = applyUdevKvmDefault(paths);
    expect(first.changed).toBe(true);
    expect(first.message).toContain("applied udev's default root:kvm 0660");
    const st = statSync(paths.device);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([0, KVM_GID, 0o660]);
    expect(inspectKvmAccess(paths).invalidatesCaches).toBe(false);
    expect(applyUdevKvmDefault(paths)).toMatchObject({ changed: false, message: expect.stringContaining('left as is') });
  });

  it('a mode somebody set on purpose is left alone', () => {
    setDevice(0, 0, 0o666);
    expect(applyUdevKvmDefault(paths).changed).toBe(false);
    expect(statSync(paths.device).mode & 0o777).toBe(0o666);
  });

  it('without a kvm group it changes nothing and says what to install', () => {
    setDevice(0, 0, 0o600);
    writeFileSync(paths.group, 'root:x:0:\n');
    expect(applyUdevKvmDefault(paths)).toMatchObject({ changed: false, message: expect.stringContaining('no kvm group') });
    expect(statSync(paths.device).gid).toBe(0);
  });
});

describe('kvmMismatchWarningOnce (the libvirt provider warning)', () => {
  const slow = (): KvmAccessReport => ({ device: '/dev/kvm', present: true, invalidatesCaches: true, reason: '/dev/kvm is root:root 0600: libvirt-qemu cannot open it', fix: UDEV_KVM_FIX });
  const fine = (): KvmAccessReport => ({ device: '/dev/kvm', present: true, invalidatesCaches: false, reason: 'ok' });

  it('warns once per run, naming the cause, the fix and the doctor command', () => {
    const first = kvmMismatchWarningOnce('run-a', slow);
    expect(first).toContain('root:root 0600');
    expect(first).toContain('chgrp kvm /dev/kvm');
    expect(first).toContain('harness doctor');
    expect(kvmMismatchWarningOnce('run-a', slow)).toBeUndefined();
    expect(kvmMismatchWarningOnce('run-b', slow)).toContain('harness doctor');
  });

  it('says nothing when the device suits libvirt', () => {
    expect(kvmMismatchWarningOnce('run-c', fine)).toBeUndefined();
  });
});
