// Boots a freshly built tiny ISO under qemu (TCG) and talks to it over SSH with the pinned host key: the
// image's acceptance test. qemu is started here directly (not through a provider) so this checks the image
// alone, and it is killed in every outcome.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { allocatePorts, releasePorts } from '../../harness/ports.js';
import type { BuiltImage } from '../../harness/providers/provider.js';
import { buildImage } from '../index.js';
import { testCache, userKey } from './test-support.js';

const QEMU = '/usr/bin/qemu-system-x86_64';
const user = userKey('boot-test');
let cache: Awaited<ReturnType<typeof testCache>>;
let image: BuiltImage;
let qemu: ChildProcess | undefined;
let exitCode: Promise<number | null>;
let port: number;
let serial = '';

interface ExecResult {
  code: number | null;
  stdout: string;
}

function ssh(command: string, auth: { privateKey?: string; password?: string } = { privateKey: user.privateKey }, pinned = image.hostPublicKey!): Promise<ExecResult> {
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
      .connect({ host: '127.0.0.1', port, username: 'root', ...auth, readyTimeout: 20_000, hostVerifier: (key: Buffer) => key.equals(want) });
  });
}

describe.skipIf(!existsSync(QEMU))('tiny image booted under qemu (TCG)', () => {
  beforeAll(async () => {
    cache = await testCache();
    image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [user.publicKey], cacheDir: cache.cacheDir });
    [port] = (await allocatePorts(1, { owner: 'iso/tiny/boot.test' })) as [number];
    const started = Date.now();
    qemu = spawn(
      QEMU,
      ['-accel', 'tcg', '-m', '256', '-cdrom', image.path, '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
        '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0', '-device', 'virtio-rng-pci'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    qemu.stdout!.on('data', (d: Buffer) => (serial += d.toString('latin1')));
    qemu.stderr!.on('data', (d: Buffer) => (serial += d.toString('latin1')));
    exitCode = new Promise((r) => qemu!.on('exit', (code) => r(code)));
    // Wait for SSH to answer a real command (not just the TCP forward, which qemu opens at once).
    const deadline = Date.now() + 240_000;
    for (;;) {
      if (qemu.exitCode !== null) throw new Error(`qemu exited (${qemu.exitCode}) before SSH answered:\n${serial.slice(-2000)}`);
      try {
        await ssh('true');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`SSH did not answer within 240 s (${(e as Error).message}):\n${serial.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    console.log(`tiny image: SSH answered ${((Date.now() - started) / 1000).toFixed(1)} s after qemu started (TCG)`);
  }, 600_000);

  afterAll(async () => {
    if (qemu && qemu.exitCode === null) qemu.kill('SIGKILL');
    if (port) await releasePorts([port]);
    await cache?.cleanup();
  });

  it('runs `uname -a` over SSH as root with the project key and the pinned host key', async () => {
    const r = await ssh('uname -a; id -u');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Linux tiny \S+-amd64 .* x86_64/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('0');
  });

  it('refuses a host key other than the pinned one, and password logins', async () => {
    const stranger = userKey('stranger').publicKey;
    await expect(ssh('true', { privateKey: user.privateKey }, stranger)).rejects.toThrow(/verification failed/i);
    await expect(ssh('true', { password: '' })).rejects.toThrow(/authentication methods failed/i);
    await expect(ssh('true', { privateKey: userKey('not-authorised').privateKey })).rejects.toThrow(/authentication methods failed/i);
  });

  it('has working test tools: ps, netstat, httpd, wget and nc from busybox', async () => {
    const r = await ssh(
      'mkdir -p /tmp/www && echo hello-from-tiny > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && ' +
        'wget -qO- http://127.0.0.1:8080/ && netstat -tln | grep -c ":22 " && ps | grep -c "[d]ropbear" && ' +
        'echo ping | nc 127.0.0.1 8080 >/dev/null; echo nc=$?',
    );
    expect(r.stdout).toContain('hello-from-tiny');
    expect(r.stdout).toMatch(/^nc=0$/m);
    expect(r.code).toBe(0);
  });

  it('logs its progress and dropbear to the serial console', () => {
    expect(serial).toContain('harness-tiny: eth0 10.0.2.15/24 gw 10.0.2.2');
    expect(serial).toContain('harness-tiny: starting dropbear on port 22');
    expect(serial).toMatch(/Pubkey auth succeeded for 'root'/);
  });

  it('powers off for real: `poweroff` makes qemu exit', async () => {
    await ssh('poweroff').catch(() => undefined); // the connection may drop as the guest goes down
    const code = await Promise.race([exitCode, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    expect(code).toBe(0);
    expect(serial).toContain('reboot: Power down');
  }, 90_000);
});
