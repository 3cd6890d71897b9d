// Boots a freshly built tiny ISO under qemu (TCG) and talks to it over SSH with the pinned host key: the
// image's acceptance test. qemu is started here directly (not through a provider) so this checks the image
// alone, and it is killed in every outcome. A second guest (direct kernel boot) gets the ACPI power button.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { describeReal } from '../../fixtures/real-backend.js';
import { allocatePorts, releasePorts } from '../../harness/ports.js';
import type { BuiltImage } from '../types.js';
import { qmpCommand } from '../../harness/providers/qmp.js';
import { buildImage } from '../index.js';
import { tinyBootFiles } from './index.js';
import { testCache, userKey } from './test-support.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const noQemu = existsSync(QEMU) ? undefined : `${QEMU} not found (fix: apt-get install -y qemu-system-x86)`;
/** A test's SSH round trips to the booted guest: ~1 s each under TCG, up to three logins bounded by ssh()'s 20 s. */
const SSH_MS = 90_000;
const user = userKey('boot-test');
let cache: Awaited<ReturnType<typeof testCache>> | undefined;
let image: BuiltImage;
let work = '';
/** The SSH port `ssh()` talks to unless told otherwise: the first guest's. */
let port: number;

interface ExecResult {
  code: number | null;
  stdout: string;
}

function ssh(
  command: string,
  auth: { privateKey?: string; password?: string } = { privateKey: user.privateKey },
  pinned = image.hostPublicKey!,
  to = port,
): Promise<ExecResult> {
  const want = Buffer.from(pinned.split(' ')[1]!, 'base64');
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', () =>
      c.exec(command, (err, stream) => {
        if (err) return reject(err);
        let stdout = '';
        stream.on('data', (d: Buffer) => (stdout += d.toString()));
        stream.on('close', (code: number | null) => {
          c.end();
          resolve({ code, stdout });
        });
      }),
    )
      .on('error', reject)
      .connect({ host: '127.0.0.1', port: to, username: 'root', ...auth, readyTimeout: 20_000, hostVerifier: (key: Buffer) => key.equals(want) });
  });
}

/** A tiny guest under qemu TCG with a QMP socket; its console (serial and qemu's stderr) collects in `serial()`. */
interface Guest {
  qemu: ChildProcess;
  port: number;
  monitor: string;
  exitCode: Promise<number | null>;
  serial: () => string;
}

/** Builds the image once for the file (the second guest reuses it). */
async function theImage(): Promise<BuiltImage> {
  cache ??= await testCache();
  work ||= await mkdtemp(join(tmpdir(), 'tiny-boot-'));
  image ??= await buildImage({ builder: 'tiny' }, { authorizedKeys: [user.publicKey], cacheDir: cache.cacheDir });
  return image;
}

/** Starts qemu and waits until SSH runs `ready` (not just the TCP forward, which qemu opens at once). */
async function bootGuest(name: string, boot: string[], ready: string): Promise<Guest> {
  const [guestPort] = (await allocatePorts(1, { owner: 'iso/tiny/boot.test' })) as [number];
  const monitor = join(work, `${name}.qmp`);
  let out = '';
  const started = Date.now();
  const proc = spawn(
    QEMU,
    ['-accel', 'tcg', '-m', '256', ...boot, '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-qmp', `unix:${monitor},server=on,wait=off`,
      '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${guestPort}-:22`, '-device', 'virtio-net-pci,netdev=n0', '-device', 'virtio-rng-pci'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const guest: Guest = { qemu: proc, port: guestPort, monitor, exitCode: new Promise((r) => proc.on('exit', (code) => r(code))), serial: () => out };
  const deadline = Date.now() + 240_000;
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`qemu exited (${proc.exitCode}) before SSH answered:\n${out.slice(-2000)}`);
      try {
        const r = await ssh(ready, undefined, undefined, guestPort);
        if (r.code === 0) break;
        throw new Error(`\`${ready}\` exited ${r.code}`);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`SSH did not run \`${ready}\` within 240 s (${(e as Error).message}):\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } catch (e) {
    await stopGuest(guest); // no qemu left behind when the boot fails
    throw e;
  }
  console.log(`tiny image (${name}): SSH answered ${((Date.now() - started) / 1000).toFixed(1)} s after qemu started (TCG)`);
  return guest;
}

async function stopGuest(guest: Guest | undefined): Promise<void> {
  if (!guest) return;
  if (guest.qemu.exitCode === null && guest.qemu.signalCode === null) guest.qemu.kill('SIGKILL');
  await releasePorts([guest.port]);
}

afterAll(async () => {
  await cache?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describeReal('tiny image booted under qemu (TCG)', noQemu, () => {
  let guest: Guest | undefined;
  beforeAll(async () => {
    await theImage();
    guest = await bootGuest('iso', ['-cdrom', image.path], 'true');
    port = guest.port;
  }, 600_000);

  afterAll(() => stopGuest(guest));

  it('runs `uname -a` over SSH as root with the project key and the pinned host key', async () => {
    const r = await ssh('uname -a; id -u');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Linux tiny \S+-amd64 .* x86_64/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0');
  }, SSH_MS);

  it('refuses a host key other than the pinned one, and password logins', async () => {
    const stranger = userKey('stranger').publicKey;
    await expect(ssh('true', { privateKey: user.privateKey }, stranger)).rejects.toThrow(/verification failed/i);
    await expect(ssh('true', { password: '' })).rejects.toThrow(/authentication methods failed/i);
    await expect(ssh('true', { privateKey: userKey('not-authorised').privateKey })).rejects.toThrow(/authentication methods failed/i);
  }, SSH_MS);

  it('has working test tools: ps, netstat, httpd, wget and nc from busybox', async () => {
    const r = await ssh(
      'mkdir -p /tmp/www && echo hello-from-tiny > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && ' +
        'wget -qO- http://127.0.0.1:8080/ && netstat -tln | grep -c ":22 " && ps | grep -c "[d]ropbear" && ' +
        'echo ping | nc 127.0.0.1 8080 >/dev/null; echo nc=$?',
    );
    expect(r.stdout).toContain('hello-from-tiny');
    expect(r.stdout).toMatch(/^nc=0$/m);
    expect(r.code).toBe(0);
  }, SSH_MS);

  it('logs its progress and dropbear to the serial console', () => {
    const serial = guest!.serial();
    expect(serial).toContain('harness-tiny: eth0 10.0.2.15/24 gw 10.0.2.2');
    expect(serial).toContain('harness-tiny: starting dropbear on port 22');
    expect(serial).toMatch(/Pubkey auth succeeded for 'root'/);
  });

  it('powers off for real: `poweroff` makes qemu exit', async () => {
    await ssh('poweroff').catch(() => undefined); // the connection may drop as the guest goes down
    const code = await Promise.race([guest!.exitCode, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    expect(code).toBe(0);
    expect(guest!.serial()).toContain('reboot: Power down');
  }, 90_000);
});

// `virsh shutdown` and QMP `system_powerdown` press the ACPI power button: acpid must turn it into init's
// shutdown (the inittab shutdown lines run) and a power-off, so qemu exits by itself instead of being killed.
describeReal('tiny image and the ACPI power button (qemu TCG, direct kernel boot)', noQemu, () => {
  let guest: Guest | undefined;
  beforeAll(async () => {
    const { kernel, initrd, cmdline } = tinyBootFiles(await theImage());
    // Ready once acpid runs: a button pressed before it has opened the event device is lost.
    guest = await bootGuest('kernel', ['-kernel', kernel, '-initrd', initrd, '-append', cmdline], 'pidof acpid');
  }, 600_000);

  afterAll(() => stopGuest(guest));

  it('powers off gracefully on QMP system_powerdown: init runs its shutdown lines, then qemu exits on its own', async () => {
    const pressed = performance.now();
    await qmpCommand(guest!.monitor, 'system_powerdown');
    const code = await Promise.race([guest!.exitCode, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    console.log(`tiny image: system_powerdown -> qemu exit ${((performance.now() - pressed) / 1000).toFixed(2)} s (TCG)`);
    const serial = guest!.serial();
    expect(code, serial.slice(-1500)).toBe(0);
    expect(serial).toContain('acpid: PWRF/00000080');
    expect(serial).toContain('harness-tiny: powering off');
    expect(serial).toContain('reboot: Power down');
  }, 90_000);
});
