// Teardown policies end to end through the CLI, as a user meets them: keep-on-failure (kept only when a step
// fails, with the ssh hints), preserve-disk (only disk.qcow2 left), the flag overriding the file, and the
// `harness vm stop` / `harness vm clean --preserve-disk` commands on what a run kept.
// Three boots in all: the failing run alone, then the two passing runs side by side (different VM names).
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { harnessPaths } from '../harness/paths.js';
import { livePid } from '../harness/providers/vm-state.js';

let vmsDir: string;
let scnDir: string;
const cli = (args: string[]) =>
  execa('node', ['bin/harness.js', ...args], {
    reject: false,
    // Share the project's image cache and key; isolate VMs and the record per suite. Port reservations stay in the
    // shared ports dir on purpose: that is what keeps this suite's VMs off other runs' ports.
    env: { HARNESS_VMS_DIR: vmsDir, HARNESS_CACHE_DIR: harnessPaths().cache, HARNESS_KEYS_DIR: harnessPaths().keys, NO_COLOR: '1' },
    timeout: 400_000,
  });

// The file says destroy: only the --keep-on-failure flag can keep this VM.
const FAILING = `name: teardown-failing
vms:
  box: { memory: 256M, bootTimeout: 180s }
steps:
  - name: leave a mark
    on: box
    run: echo was-here > /root/mark
  - name: fails
    on: box
    run: "false"
teardown: destroy
`;
// The file says preserve-disk; a --keep-on-failure flag must override it.
const PASSING = `name: teardown-passing
vms:
  box: { memory: 256M, bootTimeout: 180s }
steps:
  - name: works
    on: box
    run: "true"
teardown: preserve-disk
`;

beforeAll(async () => {
  vmsDir = await mkdtemp(join(tmpdir(), 'harness-cli-teardown-'));
  scnDir = await mkdtemp(join(tmpdir(), 'harness-cli-teardown-scn-'));
  await writeFile(join(scnDir, 'failing.yaml'), FAILING);
  await writeFile(join(scnDir, 'passing.yaml'), PASSING);
});

afterAll(async () => {
  // Whatever a failed assertion left behind: no qemu may outlive the suite.
  for (const name of await vmDirs().catch(() => [])) await cli(['vm', 'clean', name]);
  await rm(vmsDir, { recursive: true, force: true });
  await rm(scnDir, { recursive: true, force: true });
});

async function vmDirs(): Promise<string[]> {
  return (await readdir(vmsDir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.endsWith('.lock')).map((e) => e.name).sort();
}
const filesOf = async (name: string) => (await readdir(join(vmsDir, name))).sort();
const status = async (name: string) => JSON.parse((await cli(['vm', 'status', name, '--json'])).stdout) as { status: string; sshPort?: number; kept: boolean };
/** A qcow2 image starts with the magic "QFI\xfb". */
const isQcow2 = async (path: string) => (await readFile(path)).subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]));

describe('teardown policies through harness run', () => {
  test('--keep-on-failure on a failing run keeps the VM running with ssh hints; vm stop, then vm clean --preserve-disk', async () => {
    const r = await cli(['run', join(scnDir, 'failing.yaml'), '--keep-on-failure']);
    const out = r.stdout + r.stderr;
    expect(r.exitCode, out).toBe(1);
    expect(out).toContain('teardown (keep-on-failure): kept');
    // Both hints: the harness command and the plain OpenSSH one with the host key pinned.
    expect(out).toContain('harness vm ssh box');
    const plain = /or {3}(ssh -i \S+ -p (\d+) .*root@127\.0\.0\.1)$/m.exec(out);
    expect(plain, out).not.toBeNull();

    const kept = await status('box');
    expect(kept).toMatchObject({ status: 'Running', kept: true });
    expect(kept.sshPort).toBe(Number(plain![2]));
    // Really the machine the failing run used: the first step's mark is there.
    const ssh = await cli(['vm', 'ssh', 'box', '--', 'cat', '/root/mark']);
    expect(ssh.stdout.trim(), ssh.stderr).toBe('was-here');

    const stop = await cli(['vm', 'stop', 'box']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toContain('stopped box');
    expect((await status('box')).status).toBe('Stopped');
    expect(await livePid(vmsDir, 'box')).toBeUndefined();
    // Stopped, not cleaned: the disk and the record stay.
    const afterStop = await filesOf('box');
    expect(afterStop).toEqual(expect.arrayContaining(['disk.qcow2', 'vm.json', 'box.log']));
    expect(await isQcow2(join(vmsDir, 'box', 'disk.qcow2'))).toBe(true);

    const clean = await cli(['vm', 'clean', 'box', '--preserve-disk']);
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('cleaned (disk kept) box');
    expect(await filesOf('box')).toEqual(['disk.qcow2']);
    expect(await isQcow2(join(vmsDir, 'box', 'disk.qcow2'))).toBe(true);
    expect((await status('box')).status).toBe('Stopped');

    expect((await cli(['vm', 'clean', 'box'])).exitCode).toBe(0);
    expect(await vmDirs()).toEqual([]);
  }, 400_000);

  test('a passing run: --keep-on-failure (over the file) destroys everything; the file alone preserves only the disk', async () => {
    // Two runs at once under different VM names: one boot's time for both.
    const [flag, file] = await Promise.all([
      cli(['run', join(scnDir, 'passing.yaml'), '--keep-on-failure', '--name-prefix', 'kof-']),
      cli(['run', join(scnDir, 'passing.yaml'), '--name-prefix', 'pd-']),
    ]);
    expect(flag.exitCode, flag.stdout + flag.stderr).toBe(0);
    expect(file.exitCode, file.stdout + file.stderr).toBe(0);

    expect(flag.stdout + flag.stderr).toContain('teardown (keep-on-failure): destroyed');
    expect(flag.stdout + flag.stderr).not.toContain('harness vm ssh kof-box');
    expect((await status('kof-box')).status).toBe('NotCreated');

    expect(file.stdout + file.stderr).toContain('teardown (preserve-disk): disk-preserved');
    expect(await vmDirs()).toEqual(['pd-box']);
    expect(await filesOf('pd-box')).toEqual(['disk.qcow2']);
    expect(await isQcow2(join(vmsDir, 'pd-box', 'disk.qcow2'))).toBe(true);
    expect((await status('pd-box')).status).toBe('Stopped');

    expect((await cli(['vm', 'clean', 'pd-box'])).exitCode).toBe(0);
    expect(await vmDirs()).toEqual([]);
  }, 400_000);
});
