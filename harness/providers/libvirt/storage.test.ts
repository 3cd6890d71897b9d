// The qemu:///system reachability check, against a real directory tree with real modes.
import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderUnavailable } from '../../errors.js';
import { assertQemuCanReach, createBlank, createOverlay, imageInfo, systemQemuUser, unsearchableAncestor } from './storage.js';

// A user that owns nothing here, as libvirt-qemu owns nothing under a project dir.
const stranger = { uid: 64999, gid: 64999, name: 'stranger' };
let root = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'harness-storage-'));
  await chmod(root, 0o755);
  await mkdir(join(root, 'open', 'vms', 'web'), { recursive: true });
  await mkdir(join(root, 'closed', 'vms', 'web'), { recursive: true });
  await chmod(join(root, 'closed'), 0o750);
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('qemu reachability', () => {
  it('passes when every ancestor is searchable by others', async () => {
    expect(await unsearchableAncestor(join(root, 'open', 'vms', 'web', 'disk.qcow2'), stranger)).toBeUndefined();
  });

  it('names the first ancestor the qemu user cannot search, with a fix', async () => {
    const file = join(root, 'closed', 'vms', 'web', 'disk.qcow2');
    expect(await unsearchableAncestor(file, stranger)).toBe(join(root, 'closed'));
    const err = await assertQemuCanReach([file], stranger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnavailable);
    expect((err as ProviderUnavailable).fix).toMatch(new RegExp(`^chmod o\\+x ${join(root, 'closed')} `));
  });

  it('owner or group search bits count for a matching user; root passes everything', async () => {
    const file = join(root, 'closed', 'vms', 'web', 'disk.qcow2');
    expect(await unsearchableAncestor(file, { uid: 64999, gid: 0, name: 'in-root-group' })).toBeUndefined(); // 0750, group root
    expect(await unsearchableAncestor(file, { uid: 0, gid: 0, name: 'root' })).toBeUndefined();
  });

  it('reads the qemu user from qemu.conf, defaulting to libvirt-qemu', async () => {
    const conf = join(root, 'qemu.conf');
    const passwd = join(root, 'passwd');
    await writeFile(passwd, 'root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:107::/var/lib/libvirt:/usr/sbin/nologin\nqemu:x:107:107::/:/bin/false\n');
    await writeFile(conf, '#user = "root"\n');
    expect(systemQemuUser(conf, passwd)).toEqual({ uid: 64055, gid: 107, name: 'libvirt-qemu' });
    await writeFile(conf, 'user = "qemu"\n');
    expect(systemQemuUser(conf, passwd)).toEqual({ uid: 107, gid: 107, name: 'qemu' });
    await writeFile(conf, 'user = "+0"\n');
    expect(systemQemuUser(conf, passwd)).toEqual({ uid: 0, gid: 0, name: 'root' });
  });
});

describe('overlays (real qemu-img)', () => {
  it('makes a qcow2 overlay on a raw base, grown to the requested size, and a blank disk', async () => {
    const base = join(root, 'base.raw');
    await execa('qemu-img', ['create', '-q', '-f', 'raw', base, '16M']);
    const overlay = join(root, 'open', 'vms', 'web', 'disk.qcow2');
    await createOverlay(overlay, base, 32 * 1024 * 1024);
    expect(await imageInfo(overlay)).toMatchObject({ format: 'qcow2', virtualSize: 32 * 1024 * 1024, backingFile: base });
    const blank = join(root, 'blank.qcow2');
    await createBlank(blank, 8 * 1024 * 1024);
    expect(await imageInfo(blank)).toMatchObject({ format: 'qcow2', virtualSize: 8 * 1024 * 1024, backingFile: undefined });
  });
});
