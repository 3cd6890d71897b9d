// The libvirt provider on qemu:///session, for real: a tiny-ISO VM started with `libvirt: { uri: 'qemu:///session' }`
// answers SSH with its pinned host key, runs a command, stops and is cleaned, and its domain is gone from
// `virsh -c qemu:///session list --all`. Then the orphan reaper (the one every harness command runs) removes a
// harness-marked domain on qemu:///session whose harness pid is dead. As root, libvirt serves qemu:///session from
// the privileged (system) daemon; as another user it is that user's own session daemon. Skipped (failed under
// CI=true), saying why, when the session daemon does not answer. Every domain is removed in afterAll.
import { execa } from 'execa';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { libvirtUnavailable, rootUnavailable } from '../../../fixtures/backend-probes.js';
import { describeReal } from '../../../fixtures/real-backend.js';
import { buildImage } from '../../../iso/index.js';
import type { EmittedEvent } from '../../events.js';
import { projectKeyPair, type KeyPair } from '../../keys.js';
import { harnessPaths } from '../../paths.js';
import { reapOrphans } from '../../reap.js';
import { openRunAppender } from '../../../reporters/sqlite-recorder.js';
import { vmSchema } from '../../scenario/schema.js';
import { LibvirtProvider, type LibvirtStartedMachine } from '../libvirt.js';
import type { BuiltImage } from '../provider.js';
import { buildDomainXml } from './domain-xml.js';
import { domainName, macFor } from './naming.js';
import { Virsh } from './virsh.js';
import { libvirtTestTimeout } from './testing/timeouts.js';
import { sshRun as sshRunOn } from './testing/ssh-run.js';

const URI = 'qemu:///session';
const noSession = await libvirtUnavailable(URI);

describeReal('libvirt provider on qemu:///session (TCG)', noSession, () => {
  const virsh = new Virsh(URI);
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const name = `test-sess-${suffix}`;
  // The default URI stays qemu:///system: the scenario's `libvirt.uri` is what selects the session daemon.
  const provider = new LibvirtProvider({ stopGraceMs: 10_000, decideAccel: async () => ({ accel: 'tcg', reason: 'test: TCG forced' }) });
  const defined = new Set<string>();
  let root = '';
  let vmsDir = '';
  let keys: KeyPair;
  let image: BuiltImage;

  beforeAll(async () => {
    const paths = harnessPaths();
    keys = await projectKeyPair(paths.keys);
    image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache });
    root = await mkdtemp(join(tmpdir(), 'harness-libvirt-sess-'));
    await chmod(root, 0o755);
    vmsDir = join(root, 'vms');
  }, 600_000);

  afterAll(async () => {
    for (const d of defined) {
      await virsh.run(['destroy', d]);
      await virsh.run(['undefine', d, '--snapshots-metadata', '--managed-save']);
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Waits for a pinned SSH login and runs one command; returns its stdout. */
  const sshRun = (m: LibvirtStartedMachine, command: string, timeoutMs: number) =>
    sshRunOn(m, { user: image.user, privateKey: keys.privateKey, hostPublicKey: image.hostPublicKey }, command, timeoutMs);

  it('starts a VM with libvirt.uri qemu:///session, SSH with the pinned key, stop, clean: the domain is gone', async () => {
    const domain = domainName(name, vmsDir);
    defined.add(domain);
    const t0 = performance.now();
    const events: EmittedEvent[] = [];
    const m = await provider.start({
      name,
      config: vmSchema.parse({ provider: 'libvirt', accel: 'tcg', memory: '256M', libvirt: { uri: URI } }),
      image,
      dir: join(vmsDir, name),
      vmsDir,
      runId: 'session-test',
      emit: (e) => events.push(e),
    });
    expect(m.uri).toBe(URI);
    expect(await virsh.ok(['domstate', domain])).toBe('running');
    const out = await sshRun(m, 'uname -s; echo session-ok', 180_000);
    console.log(`libvirt qemu:///session: time-to-SSH from start() ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    expect(out).toBe('Linux\nsession-ok\n');
    expect(await provider.status(name, vmsDir)).toBe('Running');
    // Later commands find the session daemon through vm.json, not the provider's default URI.
    expect(events.find((e) => e.type === 'vm.event' && e.kind === 'ConfigurationUpdated')).toMatchObject({ message: expect.stringContaining(`started on ${URI}`) });
    const ts = performance.now();
    await provider.stop(name, vmsDir);
    console.log(`libvirt qemu:///session: stop() ${((performance.now() - ts) / 1000).toFixed(1)}s`);
    expect(await provider.status(name, vmsDir)).toBe('Stopped');
    expect(await virsh.ok(['domstate', '--reason', domain])).toBe('shut off (shutdown)');
    await provider.clean(name, vmsDir);
    expect(await provider.status(name, vmsDir)).toBe('NotCreated');
    expect((await virsh.ok(['list', '--all', '--name'])).split('\n')).not.toContain(domain);
    await expect(stat(join(vmsDir, name))).rejects.toThrow(/ENOENT/);
  }, 600_000);

  it('the orphan reaper run by every command removes a dead harness domain on qemu:///session', async () => {
    const child = execa('true');
    const dead = child.pid!;
    await child;
    const d = `harness-test-sessreap-${suffix}`;
    const kept = `harness-test-sesskeep-${suffix}`;
    for (const [dom, keep] of [[d, false], [kept, true]] as const) {
      defined.add(dom);
      const xml = buildDomainXml({
        domainName: dom, accel: 'tcg', memoryMiB: 64, cpus: 1, disk: join(root, 'none.qcow2'), consoleLog: join(root, `${dom}.log`), sshPort: 29998, forwards: [], mac: macFor(dom),
        metadata: { runId: 'r', pid: dead, host: hostname(), vm: 'x', dir: join(root, 'gone', dom), keep },
      });
      const xmlPath = join(root, `${dom}.xml`);
      await writeFile(xmlPath, xml);
      await virsh.ok(['define', xmlPath]);
    }
    const logs: string[] = [];
    await reapOrphans({ ...harnessPaths(), vms: join(root, 'no-vms') }, (msg) => logs.push(msg), openRunAppender);
    // As root the session's domains are the system driver's, so the system sweep is the one that finds it.
    expect(logs).toContain(`reaped libvirt domain ${d} on ${process.getuid?.() === 0 ? 'qemu:///system' : URI} left by a dead harness process`);
    expect((await virsh.run(['domstate', d])).exitCode).toBe(1);
    expect(await virsh.ok(['domstate', kept])).toBe('shut off');
  }, libvirtTestTimeout(2, 60_000));
});

// A non-root user's own session daemon (what `qemu:///session` means for everyone but root): run as `nobody` with a
// private HOME, so its socket is HOME/.cache/libvirt/libvirt-sock. The reaper runs in a child harness process as
// that user, exactly as a `harness` command run by that user would. Needs root (to become nobody) and setpriv.
const NOBODY = 65534;
const noSetpriv = (await execa('setpriv', ['--version'], { reject: false })).exitCode === 0 ? undefined : 'setpriv not found, needed to run as nobody (apt-get install -y util-linux)';
const cannotSwitch = noSession || rootUnavailable('to run a harness command as nobody') || noSetpriv;

describeReal('orphan reaper on a non-root user\'s qemu:///session daemon', cannotSwitch, () => {
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  let root = '';
  let home = '';
  const asNobody = (args: string[]) =>
    execa('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-i', `HOME=${home}`, `PATH=${process.env.PATH}`, ...args], { reject: false, stdin: 'ignore' });
  const virshAsNobody = (args: string[]) => asNobody(['virsh', '-q', '-c', URI, ...args]);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'harness-libvirt-usersess-'));
    await chmod(root, 0o755);
    home = join(root, 'home');
    await mkdir(home);
    await chown(home, NOBODY, NOBODY);
  });

  afterAll(async () => {
    if (!root) return;
    const names = String((await virshAsNobody(['list', '--all', '--name'])).stdout).split('\n').map((l) => l.trim()).filter((n) => n.includes(suffix));
    for (const d of names) await virshAsNobody(['undefine', d]);
    // The session daemon virsh autostarted for nobody: ended by the pid it recorded (it would idle out in 120 s).
    const pid = Number((await readFile(join(home, '.cache', 'libvirt', 'libvirtd.pid'), 'utf8').catch(() => '')).trim());
    if (pid > 0) process.kill(pid, 'SIGTERM');
    await rm(root, { recursive: true, force: true });
  });

  it('a dead harness\'s domain on the user\'s session daemon is reaped by the next command; kept and foreign-pid ones are not', async () => {
    const child = execa('true');
    const dead = child.pid!;
    await child;
    const cases = { orphan: { pid: dead, keep: false }, kept: { pid: dead, keep: true }, live: { pid: process.pid, keep: false } };
    const names: Record<string, string> = {};
    for (const [tag, c] of Object.entries(cases)) {
      const d = `harness-test-user${tag}-${suffix}`;
      names[tag] = d;
      const xml = buildDomainXml({
        domainName: d, accel: 'tcg', memoryMiB: 64, cpus: 1, disk: join(root, 'none.qcow2'), consoleLog: join(root, `${d}.log`), sshPort: 29997, forwards: [], mac: macFor(d),
        metadata: { runId: 'r', pid: c.pid, host: hostname(), vm: tag, dir: join(root, 'gone', tag), keep: c.keep },
      });
      await writeFile(join(root, `${d}.xml`), xml);
      const r = await virshAsNobody(['define', join(root, `${d}.xml`)]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
    }
    // Not visible to root's (system) daemon: only a sweep of nobody's own session daemon can find it.
    expect(String((await execa('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'])).stdout)).not.toContain(names.orphan);
    expect(await stat(join(home, '.cache', 'libvirt', 'libvirt-sock'))).toBeTruthy();

    // The next harness command, as nobody: its crash reaping (harness/reap.ts reapOrphans with the providers loaded).
    const script = join(root, 'reap.mts');
    const url = (p: string) => JSON.stringify(new URL(`file://${resolve(p)}`).href);
    await writeFile(
      script,
      `import { reapOrphans } from ${url('harness/reap.ts')};\nimport { openRunAppender } from ${url('reporters/sqlite-recorder.ts')};\n` +
        `await import(${url('harness/providers/libvirt.ts')});\nconst logs = [];\n` +
        `await reapOrphans({ vms: ${JSON.stringify(join(root, 'no-vms'))} }, (m) => logs.push(m), openRunAppender);\nconsole.log(JSON.stringify(logs));\n`,
    );
    const t0 = performance.now();
    const r = await asNobody([resolve('node_modules/.bin/tsx'), script]);
    console.log(`non-root session reap (child harness as nobody, incl. tsx start-up): ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const logs = JSON.parse(String(r.stdout).trim().split('\n').pop()!) as string[];
    expect(logs).toEqual([`reaped libvirt domain ${names.orphan} on ${URI} left by a dead harness process`]);
    const left = String((await virshAsNobody(['list', '--all', '--name'])).stdout);
    expect(left).not.toContain(names.orphan);
    expect(left).toContain(names.kept);
    expect(left).toContain(names.live);
  }, 120_000);
});
