// `harness run` end to end, as a user runs it: a real process, real VMs, exit codes and what's left on disk.
import { execa } from 'execa';
import Database from 'better-sqlite3';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { qemuUnavailable } from '../fixtures/backend-probes.js';
import { describeReal } from '../fixtures/real-backend.js';
import { harnessPaths } from '../harness/paths.js';
import { GUEST } from '../iso/tiny/guest-files.js';

/** What the tiny guest prints on its serial console once it starts dropbear. */
const READY = GUEST.readyLine;

let vmsDir: string;
const cli = (args: string[], extraEnv: Record<string, string> = {}) =>
  execa('node', ['bin/harness.js', ...args], {
    reject: false,
    // Share the project's image cache and key; isolate VMs and the record per suite.
    env: { HARNESS_VMS_DIR: vmsDir, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys, NO_COLOR: '1', ...extraEnv },
    timeout: 400_000,
  });

beforeAll(async () => {
  vmsDir = await mkdtemp(join(tmpdir(), 'harness-cli-'));
});

/** Polls `check` (100 ms apart) until it returns a value; an error it throws ends the wait at once. */
async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}, in vain`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function vmDirs(): Promise<string[]> {
  return (await readdir(vmsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.endsWith('.lock')).map((e) => e.name);
}

describeReal('harness run', await qemuUnavailable(), () => {
  test('a passing scenario exits 0 and leaves nothing behind (destroy); its console still reaches the reports and the record', async () => {
    const out = await mkdtemp(join(tmpdir(), 'harness-cli-reports-'));
    const r = await cli(['run', 'scenarios/smoke.yaml', '--reporter', `terminal,html:${out}/r.html,junit:${out}/j.xml`]);
    expect(r.stderr + r.stdout).toContain('kernel answers');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await vmDirs()).toEqual([]);
    // The serial log was removed with the VM dir; its last lines were put into the run before that.
    const ready = READY;
    expect(await readFile(join(out, 'r.html'), 'utf8')).toContain(ready);
    expect(await readFile(join(out, 'j.xml'), 'utf8')).toContain(ready);
    const db = new Database(join(vmsDir, 'harness.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT line FROM command_logs WHERE stream = 'console' AND vm = 'server'").all() as Array<{ line: string }>;
      expect(rows.map((x) => x.line)).toContain(ready);
    } finally {
      db.close();
    }
  }, 400_000);

  test('a failing step exits 1 and reports command, exit code and output tails; later steps are skipped', async () => {
    const r = await cli(['run', 'scenarios/cases/failing.yaml', '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const all = r.stdout + r.stderr;
    expect(all).toContain('echo actual-output');
    expect(all).toContain('actual-output');
    expect(all).toContain('some-error');
    const report = JSON.parse(r.stdout) as { steps: Array<{ name: string; status: string; exitCode?: number }> };
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['works', 'passed'],
      ['wrong output', 'failed'],
      ['never reached', 'skipped'],
    ]);
    expect(await vmDirs()).toEqual([]);
  }, 400_000);

  test('a boot that never becomes ready exits 3, points at the console log, and is cleaned up', async () => {
    const r = await cli(['run', 'scenarios/cases/boot-timeout.yaml']);
    expect(r.exitCode, r.stderr).toBe(3);
    // The terminal reporter prints the failure in its summary: what timed out and where its console log was (what
    // the guest printed in 2 s depends on the machine's load, so the lines themselves are the next test's business).
    const all = r.stdout + r.stderr;
    expect(all).toMatch(/VM slow did not answer SSH within 2s/);
    expect(all).toContain(`console log: ${join(vmsDir, 'slow', 'slow.log')}`);
    expect(await vmDirs()).toEqual([]);
  }, 120_000);

  test("a boot timeout carries the guest's own console lines to the terminal and the record", async () => {
    // The timeout fires with a booted guest, whatever the load: the harness is frozen (SIGSTOP) as soon as its
    // wait for SSH has begun, the guest boots on until it prints its ready line, and once the boot timeout is over
    // the harness resumes and finds its deadline passed.
    const dir = await mkdtemp(join(tmpdir(), 'harness-cli-frozen-'));
    const file = join(dir, 'frozen.yaml');
    await writeFile(file, 'name: frozen-boot\nvms:\n  frozen: { memory: 256M, bootTimeout: 15s }\nsteps:\n  - name: never runs\n    on: frozen\n    run: "true"\n');
    const consoleLog = join(vmsDir, 'frozen', 'frozen.log');
    const run = execa('node', ['bin/harness.js', 'run', file], { reject: false, all: true, timeout: 400_000, env: { HARNESS_VMS_DIR: vmsDir, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys, NO_COLOR: '1' } });
    let out = '';
    run.all.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the wait for SSH to begin', 300_000, async () => {
        if (run.exitCode !== null) throw new Error(`harness exited (${run.exitCode}) first:\n${out}`);
        return /\[frozen\] waiting for SSH/.test(out) || undefined;
      });
      process.kill(run.pid!, 'SIGSTOP');
      const frozenAt = Date.now();
      const early = await readFile(consoleLog, 'utf8').catch(() => '');
      expect(early, 'the guest was ready before the harness could be frozen: nothing here would time out').not.toContain(READY);
      await until('the guest to print its ready line', 300_000, async () => ((await readFile(consoleLog, 'utf8').catch(() => '')).includes(READY) || undefined));
      await until('the boot timeout to be over', 60_000, async () => (Date.now() - frozenAt > 16_000 || undefined));
    } finally {
      process.kill(run.pid!, 'SIGCONT');
    }
    const r = await run;
    expect(r.exitCode, out).toBe(3);
    expect(out).toMatch(/VM frozen did not answer SSH within 15s/);
    // The tail is the guest's own output, in its order: its network line, then the ready line.
    const tail = /console, last (\d+) lines?:\n((?:[ \t]*\|.*\n?)*)/.exec(out);
    expect(tail, out).not.toBeNull();
    const lines = tail![2]!.split('\n').map((l) => l.replace(/^\s*\| ?/, '')).filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length, out).toBeLessThanOrEqual(Number(tail![1]));
    const eth0 = lines.indexOf('harness-tiny: eth0 10.0.2.15/24 gw 10.0.2.2');
    expect(eth0, out).toBeGreaterThanOrEqual(0);
    expect(lines.indexOf(READY), out).toBeGreaterThan(eth0);
    // The record keeps the console's last lines, the ready line among them, after the VM dir is gone.
    const db = new Database(join(vmsDir, 'harness.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT line FROM command_logs WHERE stream = 'console' AND vm = 'frozen'").all() as Array<{ line: string }>;
      expect(rows.map((x) => x.line)).toContain(READY);
    } finally {
      db.close();
    }
    expect(await vmDirs()).toEqual([]);
  }, 400_000);

  test('--keep leaves the VM running with an ssh hint; vm ssh / status / clean work on it', async () => {
    const r = await cli(['run', 'scenarios/cases/keep.yaml']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain('harness vm ssh kept');
    try {
      // The plain OpenSSH line printed beside it works as pasted (host key pinned, nothing asked), before any
      // `harness vm ssh` has run.
      const plain = /or {3}(ssh -i .*)$/m.exec(r.stdout + r.stderr)?.[1];
      expect(plain, r.stdout).toMatch(/-o UserKnownHostsFile=\S+ -o StrictHostKeyChecking=yes/);
      const pasted = await execa('sh', ['-c', `${plain} cat /root/mark`], { reject: false, timeout: 60_000, stdin: 'ignore' });
      expect(pasted.stdout.trim(), pasted.stderr).toBe('was-here');
      const status = await cli(['vm', 'status', 'kept', '--json']);
      expect(JSON.parse(status.stdout).status).toBe('Running');
      const ssh = await cli(['vm', 'ssh', 'kept', '--', 'cat', '/root/mark']);
      expect(ssh.stdout.trim()).toBe('was-here');
      expect(ssh.exitCode).toBe(0);
      const list = await cli(['vm', 'list', '--json']);
      expect((JSON.parse(list.stdout) as Array<{ name: string }>).map((v) => v.name)).toContain('kept');
    } finally {
      const clean = await cli(['vm', 'clean', 'kept']);
      expect(clean.exitCode, clean.stderr).toBe(0);
    }
    expect(await vmDirs()).toEqual([]);
    const after = await cli(['vm', 'status', 'kept', '--json']);
    expect(JSON.parse(after.stdout).status).toBe('NotCreated');
  }, 400_000);

  test('contradictory teardown flags are a usage error (exit 2), nothing booted', async () => {
    const r = await cli(['run', 'scenarios/smoke.yaml', '--keep', '--preserve-disk']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('contradict');
    expect(await vmDirs()).toEqual([]);
  });
});
