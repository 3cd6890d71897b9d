// The tiny guest for real (qemu, TCG here), two VMs booted side by side once for the file:
// - `web`, the default tiny image with `ports: [{guest: 80}]`: copies go over SFTP (dropbear runs the image's
//   sftp-server), byte-exact with modes both ways; and busybox httpd, started by a command the way a scenario step
//   would, answers the host at the forwarded 127.0.0.1 port with a page only that guest could write.
// - `bare`, the same builder with `sftpServer: false` (its own cache key), booted as a plain ISO: the sftp
//   subsystem is missing, copies fall back to `cat` over exec and are just as exact.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../fixtures/real-backend.js';
import { EventBus } from '../harness/events.js';
import { projectKeyPair } from '../harness/keys.js';
import { harnessPaths } from '../harness/paths.js';
import { makePlan } from '../harness/plan.js';
import { QemuProvider } from '../harness/providers/qemu.js';
import type { BuiltImage } from '../harness/providers/provider.js';
import { Session } from '../harness/session.js';
import { newRunId } from '../harness/store/run-id.js';
import { SshTarget } from '../harness/targets/ssh-target.js';
import { buildTinyImage } from '../iso/tiny/index.js';
import { defineScenario, type RunningVm } from 'vm-harness';

const qemu = await new QemuProvider({ cacheDir: '', privateKeyPath: '' }).probe();
const qemuUnavailable = !qemu.available && `${qemu.reason} (fix: ${qemu.fix})`;

/** Building the sftp-less variant (seconds, cached after) plus two TCG boots sharing 2 cores with other suites. */
const SETUP_MS = 600_000;
/** A few SSH round trips and a 1 MiB copy each way under TCG on a shared machine. */
const TEST_MS = 180_000;
const PAGE = '/www/index.html';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** GET http://127.0.0.1:port/ with node's http: status and body. */
function httpGet(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** The SshTarget under a RunningVm (tiny guests are reached over SSH). */
function sshTarget(vm: RunningVm): SshTarget {
  expect(vm.target).toBeInstanceOf(SshTarget);
  return vm.target as SshTarget;
}

/**
 * A binary file with every byte value and an odd mode goes to the guest and back: the guest's sha256 and mode
 * match the host's, the returned bytes and mode equal the original. Returns the transports the two copies used.
 */
async function roundTrip(vm: RunningVm, dir: string, name: string): Promise<{ up: string | undefined; down: string | undefined }> {
  const target = sshTarget(vm);
  const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1024 * 1024 + 13)]);
  const local = join(dir, `${name}.bin`);
  await writeFile(local, data);
  await chmod(local, 0o751);
  const remote = `/root/copies/${name}/payload.bin`;
  await vm.copyTo(local, remote);
  const up = target.lastCopyTransport;
  expect(await vm.succeed(`sha256sum ${remote} | cut -d' ' -f1; stat -c %a ${remote}`)).toBe(`${sha256(data)}\n751\n`);

  // The guest changes the mode, so the way back must carry the guest's, not the host's.
  await vm.succeed(`chmod 640 ${remote}`);
  const back = join(dir, `${name}-back.bin`);
  await vm.copyFrom(remote, back);
  const down = target.lastCopyTransport;
  expect((await readFile(back)).equals(data)).toBe(true);
  expect((await stat(back)).mode & 0o7777).toBe(0o640);
  return { up, down };
}

describeReal('tiny guest services (real qemu)', qemuUnavailable, () => {
  let session: Session | undefined;
  let bus: EventBus | undefined;
  let vmsDir: string | undefined;
  let work: string;
  let bare: BuiltImage;
  let standard: BuiltImage;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tiny-services-'));
    vmsDir = await mkdtemp(join(tmpdir(), 'harness-suite-'));
    const paths = { ...harnessPaths(), vms: vmsDir };
    const keys = await projectKeyPair(paths.keys);
    const build = { authorizedKeys: [keys.publicKey], cacheDir: paths.cache };
    bare = await buildTinyImage(build, { sftpServer: false, boot: 'iso' });
    standard = await buildTinyImage(build); // what `web` boots (global-setup built it)
    const scenario = defineScenario({
      name: 'tiny-guest-services',
      vms: {
        web: { memory: '256M', accel: 'tcg', bootTimeout: '300s', ports: [{ guest: 80 }] },
        bare: { memory: '256M', accel: 'tcg', bootTimeout: '300s', image: { iso: bare.path, hostKey: bare.hostPublicKey } },
      },
    });
    bus = new EventBus(newRunId());
    session = await Session.boot(makePlan({ scenario, file: '<tiny-guest-services>', dir: process.cwd() }, { teardown: 'destroy' }), { bus, paths });
  }, SETUP_MS);

  afterAll(async () => {
    try {
      await session?.teardown(false); // each VM is destroyed in its own try (a failed boot already tore down)
    } finally {
      await bus?.close();
      if (vmsDir) await rm(vmsDir, { recursive: true, force: true });
      if (work) await rm(work, { recursive: true, force: true });
    }
  }, SETUP_MS);

  const vm = (name: string) => session!.vm(name);

  itReal('the default image copies over SFTP: dropbear runs its sftp-server, bytes and modes survive both ways', undefined, async () => {
    expect(await vm('web').succeed('readlink /usr/lib/sftp-server')).toBe('/usr/lib/openssh/sftp-server\n');
    expect(await roundTrip(vm('web'), work, 'sftp')).toEqual({ up: 'sftp', down: 'sftp' });
  }, TEST_MS);

  itReal('the image built without sftp-server falls back to cat over exec, just as exact', undefined, async () => {
    expect(bare.cacheKey).not.toBe(standard.cacheKey); // two cache entries: neither build can hand out the other
    expect(bare.path).not.toBe(standard.path);
    await vm('bare').fail('test -e /usr/lib/sftp-server || test -e /usr/lib/openssh/sftp-server');
    expect(await roundTrip(vm('bare'), work, 'exec')).toEqual({ up: 'exec', down: 'exec' });
  }, TEST_MS);

  itReal('busybox httpd in the guest answers the host at the forwarded 127.0.0.1 port with the page the guest wrote', undefined, async () => {
    const web = vm('web');
    const bootId = (await web.succeed('cat /proc/sys/kernel/random/boot_id')).trim();
    // What a scenario step would run (`run: ...`): the page holds the guest's hostname and this boot's id.
    await web.succeed(`mkdir -p /www && echo "hello from $(hostname), boot $(cat /proc/sys/kernel/random/boot_id)" > ${PAGE} && httpd -p 80 -h /www`);
    await web.waitForPort(80);
    const res = await httpGet(web.hostPort(80));
    expect(res).toEqual({ status: 200, body: `hello from tiny, boot ${bootId}\n` });
  }, TEST_MS);
});
