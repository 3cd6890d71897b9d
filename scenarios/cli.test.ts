// `harness run` end to end, as a user runs it: a real process, real VMs, exit codes and what's left on disk.
import { execa } from 'execa';
import Database from 'better-sqlite3';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { harnessPaths } from '../harness/paths.js';

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

async function vmDirs(): Promise<string[]> {
  return (await readdir(vmsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.endsWith('.lock')).map((e) => e.name);
}

describe('harness run', () => {
  test('a passing scenario exits 0 and leaves nothing behind (destroy); its console still reaches the reports and the record', async () => {
    const out = await mkdtemp(join(tmpdir(), 'harness-cli-reports-'));
    const r = await cli(['run', 'scenarios/smoke.yaml', '--reporter', `terminal,html:${out}/r.html,junit:${out}/j.xml`]);
    expect(r.stderr + r.stdout).toContain('kernel answers');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await vmDirs()).toEqual([]);
    // The serial log was removed with the VM dir; its last lines were put into the run before that.
    const ready = 'harness-tiny: starting dropbear on port 22';
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

  test('a boot that never becomes ready exits 3 with the console tail, and is cleaned up', async () => {
    const r = await cli(['run', 'scenarios/cases/boot-timeout.yaml']);
    expect(r.exitCode, r.stderr).toBe(3);
    // The terminal reporter prints the failure (with the console tail) in its summary.
    expect(r.stdout + r.stderr).toMatch(/did not answer SSH within 2s/);
    expect(r.stdout + r.stderr).toMatch(/console/);
    expect(await vmDirs()).toEqual([]);
  }, 120_000);

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
