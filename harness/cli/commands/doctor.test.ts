// `harness doctor` as a user runs it (node bin/harness.js doctor, a real process), compared line by line with
// checks this test makes on its own: qemu's version, /dev/kvm and the CPU flags, a connection to libvirtd's and
// dockerd's sockets, nix's build users. A second run with a PATH that lacks some tools shows each one MISSING with
// the command that installs it; --json carries the same results as the text.
import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_USERS_FIX } from '../../../iso/nixos/nix-errors.js';
import { BUSYBOX_FIX } from '../../containers/busybox-rootfs.js';
import { DOCKER_INSTALL_FIX, DOCKER_START_FIX, DOCKERD_START_FIX } from '../../containers/probe.js';

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

/** dockerd's own answer to GET /version on its socket, or undefined. */
function dockerVersion(): Promise<string | undefined> {
  const host = process.env.DOCKER_HOST ?? '';
  const socketPath = host.startsWith('unix://') ? host.slice('unix://'.length) : '/var/run/docker.sock';
  return new Promise((done) => {
    const req = request({ socketPath, path: '/version', timeout: 5000 }, (res) => {
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

  it('the container line says whether dockerd answers', async () => {
    const container = line(report, 'container');
    const version = await dockerVersion();
    if (version !== undefined) {
      expect(container.reason).toMatch(new RegExp(`^Docker ${version.replace(/[.+]/g, '\\$&')} answers`));
      if (!container.available) expect(container.fix).toBe(BUSYBOX_FIX);
    } else {
      expect(container).toMatchObject({ available: false, reason: expect.stringMatching(/no (Docker )?engine answers/) });
      expect([DOCKER_INSTALL_FIX, DOCKER_START_FIX, DOCKERD_START_FIX]).toContain(container.fix);
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
    expect(parsed.map((p) => p.provider)).toEqual(expect.arrayContaining(['qemu', 'libvirt', 'kvm', 'container', 'xorriso', 'nix']));
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
