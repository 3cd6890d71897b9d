// `harness doctor` as a user runs it (node bin/harness.js doctor, a real process), compared line by line with
// checks this test makes on its own: qemu's version, /dev/kvm and the CPU flags, a connection to libvirtd's and
// dockerd's sockets (and the static busybox the base image needs), /dev/kvm's owner and mode against libvirt's qemu
// user (stat, id), nix's build users. A second run with a PATH that lacks some tools shows each one MISSING with
// the command that installs it; --json carries the same results as the text.
import { execa } from 'execa';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_USERS_FIX } from '../../../iso/nixos/nix-errors.js';
import { BUSYBOX_FIX } from '../../containers/busybox-rootfs.js';
import { DOCKER_INSTALL_FIX, DOCKER_START_FIX, DOCKERD_START_FIX } from '../../containers/probe.js';
import { UDEV_KVM_FIX } from '../../providers/libvirt/kvm-access.js';

const root = resolve(import.meta.dirname, '../../..');
let work: string;

interface Line {
  provider: string;
  available: boolean;
  reason: string;
  fix?: string;
}

async function doctor(args: string[] = [], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [join(root, 'bin/harness.js'), 'doctor', ...args], {
    cwd: root,
    reject: false,
    timeout: 120_000,
    env: { HARNESS_VMS_DIR: join(work, 'vms'), HARNESS_CACHE_DIR: join(work, 'cache'), HARNESS_DB: join(work, 'h.db'), NO_COLOR: '1', ...env },
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The text report: `ok     NAME  reason` or `MISSING NAME  reason`, then `fix: ...` under a missing one. */
function parseText(out: string): Line[] {
  const lines: Line[] = [];
  for (const l of out.split('\n')) {
    const entry = /^(ok     |MISSING) (\S+) +(.*)$/.exec(l);
    const fix = /^ {25}fix: (.*)$/.exec(l);
    if (entry) lines.push({ provider: entry[2]!, available: entry[1] === 'ok     ', reason: entry[3]! });
    else if (fix && lines.length > 0) lines[lines.length - 1]!.fix = fix[1]!;
    else if (l !== '' && lines.length > 0) lines[lines.length - 1]!.reason += `\n${l}`; // a reason over several lines
  }
  return lines;
}

function line(report: Line[], provider: string): Line {
  const found = report.filter((r) => r.provider === provider);
  expect(found, `doctor prints one ${provider} line`).toHaveLength(1);
  return found[0]!;
}

const sh = async (script: string) => execa('sh', ['-c', script], { reject: false, stdin: 'ignore' });

/** Whether something accepts connections on a unix socket. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(path);
    s.setTimeout(3000, () => (s.destroy(), done(false)));
    s.once('connect', () => (s.end(), done(true)));
    s.once('error', () => done(false));
  });
}

/**
 * dockerd's own answer to GET /version, or undefined: from the first endpoint that answers, in the order the runtime
 * client tries them (DOCKER_HOST, then /var/run/docker.sock, then the rootless sockets), as a bad DOCKER_HOST falls
 * back to the default socket there too.
 */
async function dockerVersion(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST ?? '';
  const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(host);
  const uid = process.getuid?.();
  const endpoints = [
    ...(tcp ? [{ host: tcp[1]!, port: Number(tcp[2]) }] : host.startsWith('unix://') ? [{ socketPath: host.slice('unix://'.length) }] : []),
    { socketPath: '/var/run/docker.sock' },
    ...[process.env.XDG_RUNTIME_DIR && join(process.env.XDG_RUNTIME_DIR, 'docker.sock'), join(homedir(), '.docker/run/docker.sock'), uid !== undefined && `/run/user/${uid}/docker.sock`]
      .filter((p): p is string => Boolean(p))
      .map((socketPath) => ({ socketPath })),
  ];
  for (const endpoint of endpoints) {
    const version = await dockerVersionAt(endpoint);
    if (version !== undefined) return version;
  }
  return undefined;
}

function dockerVersionAt(endpoint: { socketPath: string } | { host: string; port: number }): Promise<string | undefined> {
  return new Promise((done) => {
    const req = request({ ...endpoint, path: '/version', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        try {
          done(res.statusCode === 200 ? String((JSON.parse(body) as { Version: string }).Version) : undefined);
        } catch {
          done(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
    req.end();
  });
}

/** The first busybox the container base image can use (one without a program interpreter, per readelf), or undefined. */
async function staticBusybox(): Promise<string | undefined> {
  for (const path of ['/bin/busybox', '/usr/bin/busybox']) {
    const r = await sh(`readelf -lW ${path}`);
    if (r.exitCode === 0 && !/\bINTERP\b/.test(r.stdout)) return path;
  }
  return undefined;
}

/** /dev/kvm as `stat` and `id` see it, from libvirt's qemu user (qemu.conf's `user`, default libvirt-qemu). */
async function kvmAsQemuUser() {
  const st = await sh("stat -c '%U:%G %a' /dev/kvm");
  if (st.exitCode !== 0) return { present: false as const };
  const [owners = '', octal = ''] = st.stdout.trim().split(' ');
  const [owner, group] = owners.split(':');
  const mode = `${owners} ${octal.padStart(4, '0')}`;
  const conf = await readFile('/etc/libvirt/qemu.conf', 'utf8').catch(() => '');
  const user = /^\s*user\s*=\s*"([^"]+)"/m.exec(conf)?.[1] ?? 'libvirt-qemu';
  const id = await sh(`id ${user}`); // uid=64055(libvirt-qemu) gid=108(kvm) groups=108(kvm),64055(libvirt-qemu)
  if (id.exitCode !== 0) return { present: true as const, mode, user, known: false as const };
  const groups = [...(/groups=(\S+)/.exec(id.stdout)?.[1] ?? '').matchAll(/\(([^)]+)\)/g)].map((m) => m[1]!);
  const bits = parseInt(octal, 8);
  const root = /^uid=0\(/.test(id.stdout);
  const usable = root || (owner === user ? (bits & 0o600) === 0o600 : groups.includes(group!) ? (bits & 0o060) === 0o060 : (bits & 0o006) === 0o006);
  return { present: true as const, mode, user, known: true as const, usable };
}

/** Whether libvirt's capability cache exists and none of its files records KVM (then an unusable device agrees with it). */
async function cachedProbeWithoutKvm(): Promise<boolean> {
  const dir = '/var/cache/libvirt/qemu/capabilities';
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.xml'));
  if (files.length === 0) return false;
  for (const f of files) if (/<flag name=['"]kvm['"]\/>/.test(await readFile(join(dir, f), 'utf8'))) return false;
  return true;
}

/** A PATH directory with a link to every program on PATH except `without`. */
async function pathWithout(without: string[]): Promise<string> {
  const bin = join(work, 'bin');
  await mkdir(bin, { recursive: true });
  const linked = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (without.includes(name) || linked.has(name)) continue;
      linked.add(name);
      await symlink(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'doctor-test-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('harness doctor', () => {
  let text: Awaited<ReturnType<typeof doctor>>;
  let report: Line[];

  beforeAll(async () => {
    text = await doctor();
    report = parseText(text.stdout);
  });

  it('qemu is ok with its version, and the exit code says so', async () => {
    const version = (await sh('qemu-system-x86_64 --version')).stdout.split('\n')[0];
    expect(line(report, 'qemu')).toEqual({ provider: 'qemu', available: true, reason: version });
    expect(text.exitCode, text.stderr).toBe(0);
  });

  it('the kvm line gives the reason KVM cannot be used (or that it works)', async () => {
    const kvm = line(report, 'kvm');
    const device = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(() => true, () => false);
    const vmx = /^flags\s*:.*\b(vmx|svm)\b/m.test(await readFile('/proc/cpuinfo', 'utf8'));
    if (!device) expect(kvm).toMatchObject({ available: false, reason: '/dev/kvm is missing or not accessible' });
    else if (!vmx) expect(kvm).toMatchObject({ available: false, reason: '/dev/kvm exists but the CPU has no vmx/svm flag (nested virtualization missing)' });
    // With the flags, this suite's empty image cache holds no kernel to boot-test with.
    else expect(kvm).toMatchObject({ available: true, reason: 'CPU has vmx/svm and /dev/kvm is accessible (no kernel to boot-test)' });
    if (!kvm.available) expect(kvm.fix).toMatch(/^none needed: VMs run under TCG/);
  });

  it('the libvirt line says whether libvirtd answers', async () => {
    const libvirt = line(report, 'libvirt');
    const virsh = await sh('virsh --version');
    const answers = (await socketAnswers('/run/libvirt/libvirt-sock')) || (await socketAnswers('/run/libvirt/virtqemud-sock'));
    if (virsh.exitCode !== 0) expect(libvirt).toMatchObject({ available: false, fix: 'apt-get install -y libvirt-daemon-system libvirt-clients' });
    else if (answers) expect(libvirt).toEqual({ provider: 'libvirt', available: true, reason: expect.stringMatching(new RegExp(`^libvirtd answers on qemu:///system \\(libvirt ${virsh.stdout.trim().replace(/\./g, '\\.')}, QEMU `)) });
    else expect(libvirt).toMatchObject({ available: false, reason: expect.stringMatching(/^libvirtd does not answer on qemu:\/\/\/system/), fix: expect.stringMatching(/libvirtd/) });
  });

  it('the container line: ok with the version dockerd reports on its socket, else MISSING with the fix for this host', async () => {
    const container = line(report, 'container');
    const version = await dockerVersion();
    if (version !== undefined) {
      const busybox = await staticBusybox();
      if (busybox) expect(container).toEqual({ provider: 'container', available: true, reason: `Docker ${version} answers; base image from ${busybox}` });
      else expect(container).toEqual({ provider: 'container', available: false, reason: `Docker ${version} answers, but no statically linked busybox to build the base image from`, fix: BUSYBOX_FIX });
      return;
    }
    const dockerd = (await sh('command -v dockerd')).exitCode === 0;
    if (!dockerd) {
      expect(container).toEqual({ provider: 'container', available: false, reason: expect.stringMatching(/^no Docker engine answers \(.+\) and dockerd is not installed$/), fix: DOCKER_INSTALL_FIX });
    } else {
      const fix = existsSync('/run/systemd/system') ? DOCKER_START_FIX : DOCKERD_START_FIX;
      expect(container).toEqual({ provider: 'container', available: false, reason: expect.stringMatching(/^dockerd is installed but no engine answers \(.+\)$/), fix });
    }
  });

  it("the libvirt-kvm line agrees with /dev/kvm's owner and mode as libvirt's qemu user meets them (stat, id)", async () => {
    const kvm = line(report, 'libvirt-kvm');
    const dev = await kvmAsQemuUser();
    if (!dev.present) return expect(kvm).toEqual({ provider: 'libvirt-kvm', available: true, reason: "/dev/kvm absent: libvirt's KVM check has nothing to disagree with" });
    expect(kvm.reason.startsWith(`/dev/kvm is ${dev.mode}`), `${kvm.reason} names the mode stat reports (${dev.mode})`).toBe(true);
    if (!dev.known) return expect(kvm).toMatchObject({ available: true, reason: `/dev/kvm is ${dev.mode}; libvirt's qemu user is not on this host (libvirt not installed?)` });
    if (dev.usable) {
      expect(kvm).toEqual({ provider: 'libvirt-kvm', available: true, reason: `/dev/kvm is ${dev.mode}: usable by ${dev.user}, libvirt's capability cache stays valid` });
    } else if (await cachedProbeWithoutKvm()) {
      expect(kvm).toMatchObject({ available: true, reason: expect.stringContaining(`not usable by ${dev.user}, but libvirt's cached probe has no KVM`) });
    } else {
      expect(kvm).toEqual({ provider: 'libvirt-kvm', available: false, reason: expect.stringContaining(`/dev/kvm is ${dev.mode}: ${dev.user} (libvirt's qemu user) cannot open it`), fix: UDEV_KVM_FIX });
    }
  });

  it('nix: as root without its build users group, not ready, with the fix', async () => {
    const nix = line(report, 'nix');
    const onPath = (await sh('command -v nix')).exitCode === 0;
    const group = /^build-users-group = (.*)$/m.exec((await sh('nix --extra-experimental-features nix-command show-config')).stdout)?.[1]?.trim() ?? '';
    const groups = (await readFile('/etc/group', 'utf8')).split('\n').map((l) => l.split(':')[0]);
    const broken = onPath && process.getuid?.() === 0 && group !== '' && !groups.includes(group);
    // On these machines (Debian's nix-bin without nix-setup-systemd, run as root) this is the case doctor must catch.
    if (broken) {
      expect(nix).toEqual({
        provider: 'nix',
        available: false,
        reason: expect.stringMatching(new RegExp(`^NixOS images \\(builder: nixos\\): nix \\(Nix\\) \\S+, but not set up for builds as root: build-users-group names the group '${group}', which does not exist$`)),
        fix: BUILD_USERS_FIX,
      });
      expect(nix.fix).toMatch(/^apt-get install -y nix-setup-systemd /);
    } else if (!onPath) expect(nix).toMatchObject({ available: false, fix: 'apt-get install -y nix-bin' });
    else expect(nix.available).toBe(true);
  });

  it('--json parses and carries the same results as the text', async () => {
    const json = await doctor(['--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as Array<Line & { details?: unknown }>;
    expect(parsed.map(({ provider, available, reason, fix }) => ({ provider, available, reason, ...(fix !== undefined ? { fix } : {}) }))).toEqual(report);
    expect(parsed.map((p) => p.provider)).toEqual(expect.arrayContaining(['qemu', 'libvirt', 'kvm', 'libvirt-kvm', 'container', 'xorriso', 'nix']));
  });

  it('a missing tool is MISSING with the command that installs it (PATH without xorriso and virsh)', async () => {
    const bin = await pathWithout(['xorriso', 'virsh']);
    expect((await sh(`PATH=${bin} command -v xorriso`)).exitCode).not.toBe(0);
    const r = await doctor([], { PATH: bin });
    expect(r.exitCode, r.stderr).toBe(0); // qemu is still there
    const lines = parseText(r.stdout);
    expect(line(lines, 'xorriso')).toEqual({ provider: 'xorriso', available: false, reason: 'ISO images (tiny, cloud-init seeds): not found', fix: 'apt-get install -y xorriso' });
    expect(r.stdout).toMatch(/^MISSING xorriso +ISO images \(tiny, cloud-init seeds\): not found\n +fix: apt-get install -y xorriso$/m);
    expect(line(lines, 'libvirt')).toMatchObject({ available: false, reason: expect.stringMatching(/^virsh is not installed/), fix: 'apt-get install -y libvirt-daemon-system libvirt-clients' });
    // Everything else is as in the full PATH's report (reasons may name the linked paths).
    const others = (l: Line[]) => l.filter((x) => !['xorriso', 'libvirt'].includes(x.provider)).map(({ provider, available, fix }) => ({ provider, available, fix }));
    expect(others(lines)).toEqual(others(report));
  });
});
