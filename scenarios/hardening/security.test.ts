// Hardening, security defaults (DESIGN.md "Security defaults"): forwarded ports bind 127.0.0.1 only, key files
// are 0600 in a 0700 folder, and neither a private key nor an API token ever reaches vms/, the image cache, the
// SQLite record or any report. One real scenario runs with every reporter; then every file is searched. The token
// is printed where the harness does not write the file itself too: on the guest's serial console (qemu writes the
// console log) and in a container's own output (split across two chunks of the log stream).
import { execa } from 'execa';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { qemuUnavailable } from '../../fixtures/backend-probes.js';
import { describeReal, itReal } from '../../fixtures/real-backend.js';
import { dockerUnavailable } from '../../harness/containers/test-helpers.js';
import { projectKeyPair } from '../../harness/keys.js';
import { REDACTED } from '../../harness/redact.js';
import { harnessPaths } from '../../harness/paths.js';
import { filesUnder, harness, parseReport, type RunReport } from './support-concurrency/cli.js';
import { listeners } from './support-concurrency/proc-net.js';
import { generateEd25519KeyPair } from '../../harness/ssh/keygen.js';

const noQemu = await qemuUnavailable();
// Without an engine the run has no container, and the container-log check says why it did not run.
const noDocker = await dockerUnavailable();
const project = harnessPaths();
/** A Proxmox API token as a step would use it; the UUID part is the secret. */
const TOKEN_SECRET = 'deadbeef-1c2d-4e5f-8a9b-0123456789ab';
const TOKEN = `PVEAPIToken=root@pam!ci=${TOKEN_SECRET}`;
/** The token's second half alone: what a redactor that works chunk by chunk would let through. */
const TOKEN_TAIL = TOKEN_SECRET.slice(14, 28);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'harness-hardening-sec-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** An unrelated key of the same kind: lines it shares with ours are format boilerplate, not secret. */
const boilerplate = new Set(lines(generateEd25519KeyPair().private));
/** The body lines of a PEM/OpenSSH private key that are its own: each one alone is enough to call it leaked. */
const bodyLines = (pem: string) => lines(pem).filter((l) => l.length >= 16 && !l.startsWith('-----') && !boilerplate.has(l));
function lines(pem: string): string[] {
  return pem.split('\n').map((l) => l.trim());
}

describe('key files', () => {
  test('the project key is 0600, its folder 0700 (even under a permissive umask, even if the folder was 0755)', async () => {
    const dir = join(work, 'keys');
    await mkdir(dir, { mode: 0o755 });
    const old = process.umask(0);
    try {
      const pair = await projectKeyPair(dir);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
      expect((await stat(pair.privateKeyPath)).mode & 0o777).toBe(0o600);
      expect((await stat(`${pair.privateKeyPath}.pub`)).mode & 0o777).toBe(0o644);
    } finally {
      process.umask(old);
    }
  });

  test('the key the project really uses is 0600 in a 0700 folder', async () => {
    const pair = await projectKeyPair(project.keys);
    expect((await stat(project.keys)).mode & 0o777).toBe(0o700);
    expect((await stat(pair.privateKeyPath)).mode & 0o777).toBe(0o600);
  });
});

describeReal('a real run with every reporter', noQemu, () => {
  let vmsDir: string;
  let reportsDir: string;
  let db: string;
  let report: RunReport & { vms: Array<{ name: string; sshPort: number }> };
  let cliOutput = '';
  /** A second private key that a step prints, so the redaction of step output is exercised for real. */
  const printed = generateEd25519KeyPair('printed-by-a-step').private;
  const env = () => ({ HARNESS_VMS_DIR: vmsDir, HARNESS_CACHE_DIR: project.cache, HARNESS_KEYS_DIR: project.keys, HARNESS_DB: db });

  beforeAll(async () => {
    vmsDir = join(work, 'vms');
    reportsDir = join(work, 'reports');
    db = join(work, 'record', 'harness.db');
    await mkdir(reportsDir, { recursive: true });
    await mkdir(join(work, 'record'), { recursive: true });
    const printKey = `printf '%s\\n' ${printed.trim().split('\n').map((l) => `'${l}'`).join(' ')}`;
    // The guest computes the marker, so the console line is told apart from the step's command text in reports.
    const toConsole = `echo "console-$((6*7)) ${TOKEN}" > /dev/console`;
    // The container prints the token in two writes a second apart: two chunks on the followed log stream.
    const boxScript = `printf 'box-up token=${TOKEN_SECRET.slice(0, 14)}'; sleep 1; printf '${TOKEN_SECRET.slice(14)}\\n'; exec sleep 3600`;
    const scenario = join(work, 'secure.yaml');
    await writeFile(
      scenario,
      [
        'name: secure',
        'vms:',
        '  sec: { image: { builder: tiny }, memory: 256M, accel: tcg, bootTimeout: 240s, ports: [{ guest: 8080 }] }',
        ...(noDocker ? [] : ['containers:', `  box: { image: harness/busybox, command: [sh, -c, ${JSON.stringify(boxScript)}] }`]),
        'steps:',
        '  - name: token on stdout',
        '    on: sec',
        `    run: "echo '${TOKEN}'"`,
        '  - name: token on stderr',
        '    on: sec',
        `    run: "echo 'Authorization: ${TOKEN}' >&2"`,
        '  - name: a step prints a private key',
        '    on: sec',
        `    run: ${JSON.stringify(printKey)}`,
        '  - name: token on the serial console',
        '    on: sec',
        `    run: ${JSON.stringify(toConsole)}`,
        '  - name: a failing step shows the token in its output',
        '    on: sec',
        `    run: "echo '${TOKEN}'; exit 7"`,
        'teardown: destroy',
        '',
      ].join('\n'),
    );
    const reporters = `terminal,junit:${join(reportsDir, 'junit.xml')},html:${join(reportsDir, 'report.html')},json:${join(reportsDir, 'run.json')}`;
    // --keep: the VM stays up so the test can look at its listening sockets.
    const r = await harness(['run', scenario, '--keep', '--json', '--reporter', reporters], env());
    cliOutput = r.stdout + r.stderr;
    report = parseReport(r.stdout, r.stderr) as typeof report;
    expect(r.exitCode, r.stderr).toBe(1); // the last step fails on purpose: failure paths print more
  }, 400_000);

  afterAll(async () => {
    if (vmsDir) await harness(['vm', 'clean', 'sec'], env());
    // --keep kept the container too: remove it by the id the harness recorded.
    const rec = vmsDir && (await readFile(join(vmsDir, 'box', 'container.json'), 'utf8').catch(() => undefined));
    if (rec) await execa('docker', ['rm', '-f', (JSON.parse(rec) as { id: string }).id], { reject: false });
  });

  test('forwarded ports (SSH and a guest port) listen on 127.0.0.1 only, never 0.0.0.0 or IPv6', async () => {
    const vm = report.vms.find((v) => v.name === 'sec')!;
    const spec = JSON.parse(await readFile(join(vmsDir, 'sec', 'vm.json'), 'utf8')) as { sshPort: number; forwards: Record<string, number> };
    expect(spec.sshPort).toBe(vm.sshPort);
    const ports = [spec.sshPort, ...Object.values(spec.forwards)];
    expect(ports).toHaveLength(2);
    for (const port of ports) {
      const l = await listeners(port);
      expect(l.map((x) => `${x.family}/${x.address}`), `port ${port}`).toEqual(['4/127.0.0.1']);
    }
  });

  itReal('the container log stands redacted, a token printed in two writes included', noDocker, async () => {
    expect(await readFile(join(vmsDir, 'box', 'box.log'), 'utf8')).toContain(`box-up token=${REDACTED}`);
  });

  test('no private key line and no token in vms/, the image cache, the record, the reports or the terminal', async () => {
    const projectKey = (await projectKeyPair(project.keys)).privateKey;
    const needles = [...bodyLines(projectKey), ...bodyLines(printed), TOKEN_SECRET, TOKEN_TAIL].map((n) => Buffer.from(n));
    expect(needles.length).toBeGreaterThan(4);
    // The run did see the secrets: the steps that printed them passed (so redaction, not absence, is tested).
    expect(report.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'failed']);

    const searchAll = async (where: string) => {
      const files = [
        ...(await filesUnder(vmsDir)),
        ...(await filesUnder(project.cache)),
        ...(await filesUnder(reportsDir)),
        ...(await filesUnder(join(work, 'record'))), // the db, its -wal and -shm
      ];
      expect(files.some((f) => f.endsWith('harness.db'))).toBe(true);
      expect(files.filter((f) => f.startsWith(reportsDir))).toHaveLength(3);
      const leaks: string[] = [];
      for (const f of files) {
        const data = await readFile(f);
        // Compressed guest files (the initramfs) are searched unpacked too.
        const bodies = f.endsWith('.gz') ? [data, gunzipSync(data)] : [data];
        for (const body of bodies) for (const n of needles) if (body.includes(n)) leaks.push(`${f}: ${n.toString().slice(0, 12)}...`);
      }
      expect(leaks, where).toEqual([]);
    };
    await searchAll('while the VM is kept');
    // The secrets did reach the file qemu writes, where they stand redacted (the container's log: the test above).
    expect(await readFile(join(vmsDir, 'sec', 'sec.log'), 'utf8')).toContain(`console-42 PVEAPIToken=${REDACTED}`);
    for (const n of needles) expect(cliOutput.includes(n.toString()), 'terminal / --json output').toBe(false);
    // The reports say what happened, redacted: the token's name survives, its value does not.
    const junit = await readFile(join(reportsDir, 'junit.xml'), 'utf8');
    expect(junit).toContain('PVEAPIToken=[REDACTED]');
    // The console sections of the file reports embed the console log, redacted.
    expect(junit).toContain(`console-42 PVEAPIToken=${REDACTED}`);
    expect(await readFile(join(reportsDir, 'report.html'), 'utf8')).toContain(`console-42 PVEAPIToken=${REDACTED}`);

    // The kept VM's console log stays live: output after the run is redacted when the VM is stopped.
    const late = await harness(['vm', 'ssh', 'sec', '--', `echo "after-keep ${TOKEN}" > /dev/console`], env());
    expect(late.exitCode, late.stderr).toBe(0);
    const stop = await harness(['vm', 'stop', 'sec'], env());
    expect(stop.exitCode, stop.stderr).toBe(0);
    await searchAll('after vm stop');
    expect(await readFile(join(vmsDir, 'sec', 'sec.log'), 'utf8')).toContain(`after-keep PVEAPIToken=${REDACTED}`);

    const clean = await harness(['vm', 'clean', 'sec'], env());
    expect(clean.exitCode, clean.stderr).toBe(0);
    await searchAll('after clean');
  }, 300_000);
});
