// Module ordering from modinfo `depends=`. The tree here is a stand-in (files with just the modinfo strings
// a real .ko carries); the real kernel's modules are checked by build.test.ts through the built /init.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseModinfo, resolveModules } from './modules.js';

const ko = (name: string, depends: string) => Buffer.from(`\x7fELF junk\0license=GPL\0depends=${depends}\0retpoline=Y\0name=${name}\0vermagic=6.1\0`);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modules-test-'));
  const put = async (rel: string, name: string, deps: string) => {
    await mkdir(join(dir, 'kernel', rel, '..'), { recursive: true });
    await writeFile(join(dir, 'kernel', rel), ko(name, deps));
  };
  await put('drivers/virtio/virtio_ring.ko', 'virtio_ring', '');
  await put('drivers/virtio/virtio.ko', 'virtio', 'virtio_ring');
  await put('drivers/virtio/virtio_pci.ko', 'virtio_pci', 'virtio_ring,virtio');
  await put('drivers/char/hw_random/virtio-rng.ko', 'virtio_rng', 'virtio,virtio_ring');
  await put('drivers/net/net_failover.ko', 'net_failover', 'failover');
  await put('net/core/failover.ko', 'failover', '');
  await put('drivers/net/virtio_net.ko', 'virtio_net', 'virtio_ring,virtio,net_failover');
  await put('drivers/loop.ko', 'loop', 'ghost');
  await writeFile(join(dir, 'modules.builtin'), 'kernel/drivers/char/hw_random/rng-core.ko\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseModinfo', () => {
  it('reads name and depends, and an empty depends as no dependencies', () => {
    expect(parseModinfo(ko('virtio_net', 'virtio_ring,virtio,net_failover'))).toEqual({ name: 'virtio_net', depends: ['virtio_ring', 'virtio', 'net_failover'] });
    expect(parseModinfo(ko('virtio_ring', ''))).toEqual({ name: 'virtio_ring', depends: [] });
  });
});

describe('resolveModules', () => {
  it('orders every module after its dependencies and maps virtio-rng.ko to virtio_rng', async () => {
    const mods = await resolveModules(dir, ['virtio_net', 'virtio-rng', 'virtio_pci']);
    const names = mods.map((m) => m.name);
    expect(new Set(names)).toEqual(new Set(['virtio_ring', 'virtio', 'failover', 'net_failover', 'virtio_net', 'virtio_rng', 'virtio_pci']));
    for (const m of mods) for (const d of m.depends) expect(names.indexOf(d)).toBeLessThan(names.indexOf(m.name));
    expect(mods.find((m) => m.name === 'virtio_rng')!.relPath).toBe('kernel/drivers/char/hw_random/virtio-rng.ko');
  });

  it('names the missing dependency and who needs it', async () => {
    await expect(resolveModules(dir, ['loop'])).rejects.toThrow('kernel module ghost (needed by loop) was not found');
  });

  it('skips modules built into the kernel', async () => {
    await writeFile(join(dir, 'modules.builtin'), 'kernel/net/core/failover.ko\n');
    const names = (await resolveModules(dir, ['virtio_net'])).map((m) => m.name);
    expect(names).not.toContain('failover');
    expect(names).toContain('net_failover');
  });
});
