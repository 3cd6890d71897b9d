// A real tiny build (Debian packages, dropbearconvert, grub-mkrescue), read back from the ISO with xorriso:
// what the guest will hold (keys, host key, modules in order, applets) and what it must never hold.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltImage } from '../types.js';
import { cacheKey } from '../cache.js';
import { buildImage } from '../index.js';
import { tinyInputs } from './index.js';
import { isFile, isSymlink, readCpio, type CpioMember } from './cpio.js';
import { parseModinfo } from './modules.js';
import { testCache, userKey } from './test-support.js';

const alice = userKey('alice@test');
const bob = userKey('bob@test');
let cache: Awaited<ReturnType<typeof testCache>>;
let work: string;
let image: BuiltImage;
let progress: string[] = [];
let files: Map<string, CpioMember>;
let isoListing: string;
let grubCfg: string;

beforeAll(async () => {
  cache = await testCache();
  work = await mkdtemp(join(tmpdir(), 'tiny-read-'));
  image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [alice.publicKey, bob.publicKey], cacheDir: cache.cacheDir, onProgress: (m) => progress.push(m) });
  isoListing = (await execa('xorriso', ['-indev', image.path, '-find', '/', '-type', 'f'])).stdout;
  await execa('osirrox', ['-indev', image.path, '-extract', '/boot/initrd.gz', join(work, 'initrd.gz'), '-extract', '/boot/grub/grub.cfg', join(work, 'grub.cfg')]);
  files = new Map(readCpio(gunzipSync(await readFile(join(work, 'initrd.gz')))).map((m) => [m.path, m]));
  grubCfg = await readFile(join(work, 'grub.cfg'), 'utf8');
}, 600_000);

afterAll(async () => {
  await cache?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

const text = (p: string) => {
  const m = files.get(p);
  if (!m) throw new Error(`initramfs has no ${p}`);
  return m.data.toString('utf8');
};

describe('tiny image', () => {
  it('returns a BuiltImage for an ISO in the cache, logging in as root with a pinned ed25519 host key', () => {
    expect(image).toMatchObject({ kind: 'iso', user: 'root', builder: 'tiny' });
    expect(image.cacheKey).toMatch(/^[0-9a-f]{64}$/);
    expect(image.path).toBe(join(cache.cacheDir, 'images', image.cacheKey, 'tiny.iso'));
    expect(image.hostPublicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/=]+ /);
    expect(progress.some((m) => m.startsWith('built tiny image'))).toBe(true);
  });

  it('is an ISO with kernel, initramfs and a no-wait GRUB menu that leaves the serial port to the kernel', () => {
    for (const f of ['/boot/vmlinuz', '/boot/initrd.gz', '/boot/grub/grub.cfg']) expect(isoListing).toContain(`'${f}'`);
    expect(grubCfg).toMatch(/set timeout=0/);
    expect(grubCfg).toMatch(/linux \/boot\/vmlinuz console=ttyS0,115200/);
    // A GRUB serial terminal costs ~4 s per TCG boot; the kernel's console=ttyS0 gives the console log.
    expect(grubCfg).not.toMatch(/terminal_(output|input) serial/);
  });

  it('authorises exactly the given public keys for root, with modes dropbear accepts', () => {
    expect(text('root/.ssh/authorized_keys').trim().split('\n').sort()).toEqual([alice.publicKey, bob.publicKey].sort());
    expect(files.get('root/.ssh/authorized_keys')!.mode & 0o777).toBe(0o600);
    expect(files.get('root/.ssh')!.mode & 0o777).toBe(0o700);
    expect(files.get('root')!.mode & 0o777).toBe(0o700);
  });

  it('holds the dropbear host key whose public half is the one returned for pinning', async () => {
    const hostKey = files.get('etc/dropbear/dropbear_ed25519_host_key')!;
    expect(hostKey.mode & 0o777).toBe(0o600);
    const f = join(work, 'hostkey');
    await writeFile(f, hostKey.data, { mode: 0o600 });
    const { stdout } = await execa('dropbearkey', ['-y', '-f', f]);
    const derived = /^(ssh-ed25519 \S+)/m.exec(stdout)?.[1];
    expect(derived).toBe(image.hostPublicKey!.split(' ').slice(0, 2).join(' '));
  });

  it('contains no private user key, in the initramfs or anywhere on the ISO', async () => {
    const secretBodies = [alice.privateKey, bob.privateKey].map((k) => k.split('\n').slice(1, -2).join(''));
    for (const m of files.values()) {
      const s = m.data.toString('latin1');
      expect(s.includes('PRIVATE KEY'), m.path).toBe(false);
      for (const line of secretBodies.flatMap((b) => b.match(/.{1,40}/g)!)) expect(s.includes(line), m.path).toBe(false);
    }
    const iso = (await readFile(image.path)).toString('latin1');
    expect(iso.includes('PRIVATE KEY')).toBe(false);
    for (const k of [alice.privateKey, bob.privateKey]) expect(iso.includes(k.split('\n')[2]!)).toBe(false);
  });

  it('loads the virtio, ACPI button and evdev modules in dependency order from /init, and each one is in the initramfs', () => {
    const init = text('init');
    const loads = [...init.matchAll(/^load (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, path: m[2]!.slice(1) }));
    const names = loads.map((l) => l.name);
    for (const needed of ['virtio_ring', 'virtio', 'virtio_pci', 'failover', 'net_failover', 'virtio_net', 'virtio_rng', 'button', 'evdev']) expect(names).toContain(needed);
    for (const l of loads) {
      const ko = files.get(l.path);
      expect(ko, l.path).toBeDefined();
      for (const dep of parseModinfo(ko!.data).depends) expect(names.indexOf(dep), `${dep} before ${l.name}`).toBeLessThan(names.indexOf(l.name));
    }
    expect(init).toMatch(/ip addr add 10\.0\.2\.15\/24 dev eth0/);
    expect(init).toMatch(/ip route add default via 10\.0\.2\.2/);
    expect(init).toMatch(/exec \/sbin\/init$/m);
  });

  it('has busybox applets as symlinks, dropbear with its libraries, and an inittab for dropbear and the console', () => {
    for (const a of ['bin/sh', 'bin/ps', 'bin/netstat', 'usr/bin/nc', 'usr/sbin/httpd', 'usr/bin/wget', 'bin/uname', 'sbin/poweroff', 'sbin/init']) {
      const m = files.get(a);
      expect(m && isSymlink(m), a).toBe(true);
      expect(m!.data.toString()).toBe('/bin/busybox');
    }
    for (const f of ['bin/busybox', 'usr/sbin/dropbear', 'lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/libc.so.6', 'lib/x86_64-linux-gnu/libtomcrypt.so.1', 'lib/x86_64-linux-gnu/libtommath.so.1']) {
      expect(files.get(f) && isFile(files.get(f)!), f).toBe(true);
    }
    const inittab = text('etc/inittab');
    expect(inittab).toMatch(/^::respawn:\/usr\/sbin\/dropbear -F -E -s -p 22 -r \/etc\/dropbear\/dropbear_ed25519_host_key$/m);
    expect(inittab).toMatch(/^ttyS0::respawn:-\/bin\/sh$/m);
    expect(text('etc/shadow')).toMatch(/^root:\*:/); // no password: key login only
  });

  it("has OpenSSH's sftp-server at the path dropbear runs for the sftp subsystem", () => {
    const server = files.get('usr/lib/openssh/sftp-server');
    expect(server && isFile(server)).toBe(true);
    expect(server!.mode & 0o111).toBe(0o111);
    expect(server!.data.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    // Debian's dropbear is built with SFTPSERVER_PATH /usr/lib/sftp-server (read from the binary at build time).
    expect(files.get('usr/sbin/dropbear')!.data.includes(Buffer.from('\0/usr/lib/sftp-server\0'))).toBe(true);
    const link = files.get('usr/lib/sftp-server');
    expect(link && isSymlink(link)).toBe(true);
    expect(link!.data.toString()).toBe('/usr/lib/openssh/sftp-server');
    expect(progress).toContain('sftp-server at /usr/lib/sftp-server (the path dropbear runs)');
  });

  it('keys an image without sftp-server apart from the default one (the two never share a cache entry)', async () => {
    const withSftp = await tinyInputs([alice.publicKey], cache.cacheDir);
    const without = await tinyInputs([alice.publicKey], cache.cacheDir, undefined, { sftpServer: false });
    expect(withSftp.inputs.sftpServer).toBe(true);
    expect(Object.keys(withSftp.inputs.packages)).toContain('openssh-sftp-server');
    expect(without.inputs.sftpServer).toBe(false);
    expect(Object.keys(without.inputs.packages)).not.toContain('openssh-sftp-server');
    expect(without.packages.map((p) => p.name)).not.toContain('openssh-sftp-server');
    expect(cacheKey(without.inputs)).not.toBe(cacheKey(withSftp.inputs));
  });

  it('powers off on the ACPI power button: init keeps acpid in the foreground, its PWRF action calls poweroff', () => {
    expect(text('etc/inittab')).toMatch(/^::respawn:\/sbin\/acpid -f -d$/m);
    expect(text('etc/inittab')).toMatch(/^::shutdown:\/bin\/echo harness-tiny: powering off$/m);
    expect(files.get('sbin/acpid')?.data.toString()).toBe('/bin/busybox');
    const action = files.get('etc/acpi/PWRF/00000080'); // busybox acpid's name for KEY_POWER, run from /etc/acpi
    expect(action && isFile(action)).toBe(true);
    expect(action!.mode & 0o111).toBe(0o111);
    expect(text('etc/acpi/PWRF/00000080')).toMatch(/^#!\/bin\/sh\n(exec )?\/sbin\/poweroff$/m);
    // acpid opens the /dev/input/event* that exist when it starts: both modules must be loaded before init runs.
    const init = text('init');
    for (const m of ['button', 'evdev']) expect(init.search(new RegExp(`^load ${m} `, 'm')), m).toBeGreaterThan(-1);
    expect(init.search(/^load evdev /m)).toBeLessThan(init.indexOf('exec /sbin/init'));
    expect(init.search(/^load button /m)).toBeLessThan(init.indexOf('exec /sbin/init'));
  });

  it('reuses the same ISO for the same keys in any order, and builds a different one for different keys', async () => {
    const before = await stat(image.path);
    const again: string[] = [];
    const same = await buildImage({ builder: 'tiny' }, { authorizedKeys: [bob.publicKey, alice.publicKey], cacheDir: cache.cacheDir, onProgress: (m) => again.push(m) });
    expect(same).toEqual({ ...image, reused: true });
    expect(again.some((m) => m.startsWith('reused tiny image'))).toBe(true);
    expect((await stat(image.path)).mtimeMs).toBe(before.mtimeMs);

    const other = await buildImage({ builder: 'tiny' }, { authorizedKeys: [alice.publicKey], cacheDir: cache.cacheDir });
    expect(other.cacheKey).not.toBe(image.cacheKey);
    expect(other.path).not.toBe(image.path);
    expect(other.hostPublicKey).not.toBe(image.hostPublicKey);
  }, 600_000);

  it('refuses a private key given as an authorized key, before building anything', async () => {
    await expect(buildImage({ builder: 'tiny' }, { authorizedKeys: [alice.privateKey], cacheDir: cache.cacheDir })).rejects.toThrow(/PRIVATE key \(refused/);
  });
});
