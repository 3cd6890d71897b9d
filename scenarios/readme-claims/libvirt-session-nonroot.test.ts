// README (providers table): "`qemu:///session`: ... a non-root user's session daemon runs qemu as that user". Through
// the real CLI run as the non-root user `harness-readme` (setpriv, clean environment, its own HOME, cache, key, vms
// dir, record and port reservations): `harness run --keep` of a libvirt scenario on qemu:///session builds the
// user's tiny image, boots it and passes; the kept domain is on the user's own session daemon (not root's system
// one) and its qemu process runs with the user's uid; `harness vm status` / `vm clean` as the user find it through
// vm.json and remove it. One boot.
import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { LibvirtProvider } from '../../harness/providers/libvirt.js';
import { domainName } from '../../harness/providers/libvirt/naming.js';
import { allocatePorts, releasePorts } from '../../harness/ports.js';
import { output, PROJECT } from './sandbox.js';
import { makeUserSandbox, userSwitchUnavailable, type UserSandbox } from './test-user.js';

const SCENARIO = `name: readme-session
vms:
  box:
    provider: libvirt
    memory: 256M
    accel: tcg
    bootTimeout: 300s
    libvirt: { uri: "qemu:///session" }
steps:
  - name: guest answers
    on: box
    run: uname -s
    expect: { stdout: Linux }
teardown: destroy
`;

/** qemu processes whose command line names `dir`, with the real uid each runs as. */
async function qemusUnder(dir: string): Promise<Array<{ pid: number; uid: number }>> {
  const found: Array<{ pid: number; uid: number }> = [];
  for (const pid of (await readdir('/proc')).filter((f) => /^\d+$/.test(f))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.startsWith('/usr/bin/qemu-system') && !cmdline.includes('qemu-system-x86_64\0')) continue;
    if (!cmdline.includes(dir)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    found.push({ pid: Number(pid), uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) });
  }
  return found;
}

const probe = await new LibvirtProvider({}).probe();
const unavailable = (await userSwitchUnavailable()) ?? (!probe.available ? `${probe.reason} (fix: ${probe.fix})` : undefined);

describeReal("README: a non-root user's qemu:///session runs a real VM", unavailable, () => {
  let sb: UserSandbox;
  let domain: string;

  beforeAll(async () => {
    sb = await makeUserSandbox('session', { seedDebs: true });
    domain = domainName('box', sb.vmsDir);
    await sb.write('session.yaml', SCENARIO);
    // Bundle the CLI for the current sources as root: the user may not write .harness/build (it would fall back to tsx).
    await execa('node', [join(PROJECT, 'bin/harness.js'), '--help'], { cwd: PROJECT });
    // Root reserves (and releases) a port first, as root's runs on this machine do: the shared dir is root's.
    await releasePorts(await allocatePorts(1, { owner: 'root-first' }));
  });
  afterAll(async () => {
    if (!sb) return;
    await sb.cli(['vm', 'clean', 'box']);
    await sb.run(['virsh', '-q', '-c', 'qemu:///session', 'undefine', domain]);
    await sb.dispose();
  });

  itReal('harness run as the user boots on its session daemon, qemu runs as the user, vm clean as the user removes it', undefined, async () => {
    expect((await sb.run(['id', '-u'])).stdout).toBe(String(sb.user.uid));
    let t = performance.now();
    const r = await sb.cli(['run', join(sb.dir, 'session.yaml'), '--keep']);
    console.log(`non-root qemu:///session: harness run (tiny image build as the user + boot) ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(r.exitCode, output(r)).toBe(0);
    expect(output(r)).toMatch(/image tiny: built/);
    expect(output(r)).toContain('teardown (keep): kept');

    // The user's own daemon holds the domain; root's system daemon has never heard of it.
    const mine = await sb.run(['virsh', '-q', '-c', 'qemu:///session', 'list', '--name']);
    expect(String(mine.stdout).split('\n').map((l) => l.trim()), String(mine.stderr)).toContain(domain);
    expect(String((await execa('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'])).stdout).split('\n')).not.toContain(domain);
    expect(await readFile(join(sb.home, '.cache', 'libvirt', 'libvirtd.pid'), 'utf8')).toMatch(/^\d+/);
    const qemus = await qemusUnder(sb.vmsDir);
    expect(qemus.length, JSON.stringify(qemus)).toBe(1);
    expect(qemus[0]!.uid).toBe(sb.user.uid);

    const status = await sb.cli(['vm', 'status', 'box', '--json']);
    expect(status.exitCode, output(status)).toBe(0);
    expect(JSON.parse(String(status.stdout))).toMatchObject({ status: 'Running' });

    t = performance.now();
    const clean = await sb.cli(['vm', 'clean', 'box']);
    console.log(`non-root qemu:///session: vm clean ${((performance.now() - t) / 1000).toFixed(1)}s`);
    expect(clean.exitCode, output(clean)).toBe(0);
    const after = await sb.run(['virsh', '-q', '-c', 'qemu:///session', 'list', '--all', '--name']);
    expect(String(after.stdout).split('\n').map((l) => l.trim())).not.toContain(domain);
    expect(await qemusUnder(sb.vmsDir)).toEqual([]);
    expect((await readdir(sb.vmsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.endsWith('.lock')).map((e) => e.name)).toEqual([]);
  }, 900_000);
});
