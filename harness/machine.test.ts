// RunningVm against the in-process SSH test peer (busybox sh userland), plus OpenSSH's own client for sshCommand().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AssertionFailed, SshConnectionLost, VmExited } from './errors.js';
import type { Clock } from './retry.js';
import { RunningVm, type MachineInfo } from './machine.js';
import { busyboxUserland, startTestPeer, type TestPeer } from './ssh/test-peer.js';
import { SshTarget } from './targets/ssh-target.js';
import { generateEd25519KeyPair } from './ssh/keygen.js';

const run = promisify(execFile);
const clientKey = generateEd25519KeyPair();
let dir: string;
let keyPath: string;
let peer: TestPeer;
let vm: RunningVm;

function steppingClock(): Clock {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += ms) };
}

async function makeVm(p: TestPeer, extra: Partial<MachineInfo> = {}): Promise<RunningVm> {
  const info: MachineInfo = { name: 'web', host: p.host, port: p.port, user: 'root', privateKeyPath: keyPath, hostPublicKey: p.hostPublicKey, dir, ...extra };
  const target = await SshTarget.open('web', { host: p.host, port: p.port, user: 'root', privateKey: clientKey.private, hostPublicKey: p.hostPublicKey }, { isAlive: info.isAlive });
  return new RunningVm(target, info);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'machine-'));
  keyPath = join(dir, 'id_ed25519');
  await writeFile(keyPath, clientKey.private, { mode: 0o600 });
  peer = await startTestPeer({ authorizedKey: clientKey.public, cwd: dir, ...(await busyboxUserland(dir)) });
  vm = await makeVm(peer);
});
afterAll(async () => {
  await vm.close();
  await peer.close();
  await rm(dir, { recursive: true, force: true });
});

describe('RunningVm commands', () => {
  it('succeed returns stdout; a failing command throws AssertionFailed with command, exit code and tails', async () => {
    expect(await vm.succeed('echo hello')).toBe('hello\n');
    const err = await vm.succeed('echo partial; echo broken >&2; exit 2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssertionFailed);
    const a = err as AssertionFailed;
    expect(a.details).toEqual({ command: 'echo partial; echo broken >&2; exit 2', exitCode: 2, stdoutTail: 'partial', stderrTail: 'broken' });
    expect(a.message).toMatch(/succeed on web: exit code 2, expected 0/);
  });

  it('fail expects a non-zero exit code and returns stdout', async () => {
    expect(await vm.fail('echo nope; false')).toBe('nope\n');
    await expect(vm.fail('true')).rejects.toThrow(/fail on web: exit code 0, expected a non-zero exit code/);
  });

  it('execute returns the result whatever the exit code', async () => {
    const r = await vm.execute('exit 5');
    expect(r.exitCode).toBe(5);
  });
});

describe('RunningVm waits', () => {
  it('waitUntilSucceeds retries and returns the stdout of the first success', async () => {
    const c = join(dir, 'c1');
    const out = await vm.waitUntilSucceeds(`n=$(cat ${c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${c}; echo n=$n; [ $n -ge 3 ]`, { clock: steppingClock() });
    expect(out).toBe('n=3\n');
  });

  it('waitUntilSucceeds times out with the last output', async () => {
    const err = await vm.waitUntilSucceeds('echo still booting; exit 1', { timeoutMs: 2_000, intervalMs: 500, clock: steppingClock() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssertionFailed);
    expect((err as AssertionFailed).details).toMatchObject({ exitCode: 1, stdoutTail: 'still booting' });
    expect((err as Error).message).toMatch(/waitUntilSucceeds on web: .*still failing after 2000 ms, 4 attempts/);
  });

  it('waitUntilFails retries until the command fails', async () => {
    const c = join(dir, 'c2');
    await vm.waitUntilFails(`n=$(cat ${c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${c}; [ $n -lt 2 ]`, { clock: steppingClock() });
    expect((await readFile(c, 'utf8')).trim()).toBe('2');
  });

  it('waitForPort, waitForFile and waitForProcess see what is there and time out on what is not', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      await vm.waitForPort(port, { clock: steppingClock() });
    } finally {
      srv.close();
    }
    await writeFile(join(dir, 'ready'), '');
    await vm.waitForFile(join(dir, 'ready'), { clock: steppingClock() });
    await vm.waitForProcess('node', { clock: steppingClock() });
    await expect(vm.waitForFile(join(dir, 'not-ready'), { timeoutMs: 1_000, clock: steppingClock() })).rejects.toThrow(/not-ready does not exist/);
    await expect(vm.waitForProcess('no-such-daemon', { timeoutMs: 1_000, clock: steppingClock() })).rejects.toThrow(/no process named no-such-daemon/);
  });
});

describe('RunningVm copies', () => {
  it('round-trips a file', async () => {
    await writeFile(join(dir, 'up.txt'), 'up and back\n');
    await vm.copyTo(join(dir, 'up.txt'), join(dir, 'remote', 'up.txt'));
    await vm.copyFrom(join(dir, 'remote', 'up.txt'), join(dir, 'down', 'up.txt'));
    expect(await readFile(join(dir, 'down', 'up.txt'), 'utf8')).toBe('up and back\n');
  });
});

describe('sshCommand', () => {
  it('gives a command line that OpenSSH runs with the host key pinned through known_hosts in the VM dir', async () => {
    const line = vm.sshCommand();
    expect(line).toBe(`ssh -i ${keyPath} -p ${peer.port} -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes root@127.0.0.1`);
    expect(await readFile(join(dir, 'known_hosts'), 'utf8')).toBe(`[127.0.0.1]:${peer.port} ${peer.hostPublicKey}\n`);
    const [cmd, ...args] = vm.sshArgs();
    const { stdout } = await run(cmd!, [...args, '-o', 'BatchMode=yes', 'echo', 'via-openssh'], { timeout: 20_000 });
    expect(stdout).toBe('via-openssh\n');
    expect(vm.ssh).toEqual({ host: '127.0.0.1', port: peer.port, user: 'root', privateKeyPath: keyPath, knownHostsPath: join(dir, 'known_hosts') });
  });

  it('makes OpenSSH refuse a server whose host key is not the pinned one', async () => {
    const impostor = await startTestPeer({ authorizedKey: clientKey.public, cwd: dir });
    try {
      const other = new RunningVm(vm.target, { name: 'web', host: impostor.host, port: impostor.port, user: 'root', privateKeyPath: keyPath, hostPublicKey: peer.hostPublicKey, dir });
      const [cmd, ...args] = other.sshArgs();
      const err = (await run(cmd!, [...args, '-o', 'BatchMode=yes', 'true'], { timeout: 20_000 }).catch((e: unknown) => e)) as { code?: number; stderr?: string };
      expect(err.code).toBe(255);
      expect(err.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      await impostor.close();
    }
  });
});

describe('machine lost', () => {
  it('turns a dropped connection into VmExited with the console tail when the VM process is gone', async () => {
    const p = await startTestPeer({ authorizedKey: clientKey.public, cwd: dir });
    let alive = true;
    const doomed = await makeVm(p, { isAlive: async () => alive, consoleTail: async () => ['[  12.3] Kernel panic - not syncing'] });
    try {
      setTimeout(() => {
        alive = false;
        p.dropConnections();
      }, 300);
      const err = await doomed.succeed('sleep 30').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VmExited);
      expect((err as Error).message).toMatch(/VM exited: web[\s\S]*Kernel panic/);
      expect((err as Error).cause).toBeInstanceOf(SshConnectionLost);
    } finally {
      await doomed.close();
      await p.close();
    }
  });

  it('keeps SshConnectionLost when the VM process still runs', async () => {
    const p = await startTestPeer({ authorizedKey: clientKey.public, cwd: dir });
    const flaky = await makeVm(p, { isAlive: async () => true });
    try {
      setTimeout(() => p.dropConnections(), 300);
      await expect(flaky.execute('sleep 30')).rejects.toBeInstanceOf(SshConnectionLost);
    } finally {
      await flaky.close();
      await p.close();
    }
  });
});
