// SshTarget against the in-process SSH test peer (a real ssh2 server running commands with the local /bin/sh).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SshConnectionLost } from '../errors.js';
import { pidAlive } from '../lock.js';
import { SFTP_SERVER_PATH, startTestPeer, type TestPeer } from '../ssh/test-peer.js';
import { SshTarget } from './ssh-target.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';

const clientKey = generateEd25519KeyPair();
let dir: string;
const peers: TestPeer[] = [];
const targets: SshTarget[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssh-target-'));
});
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close().catch(() => {});
  for (const p of peers.splice(0)) await p.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Polls `probe` (real time, 50 ms apart) until it returns a value; gives up after `ms`. */
async function eventually<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A full collection on demand, so liveBytes counts only what is still reachable.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes still reachable (JS heap and Buffers) after a full GC. */
function liveBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** The pid a command wrote to `file`, once it has. */
function pidIn(file: string): Promise<number> {
  return eventually(async () => {
    const text = await readFile(file, 'utf8').catch(() => '');
    return /^\d+\n$/.test(text) ? Number(text) : undefined;
  });
}

async function setup(opts: { sftp?: boolean; isAlive?: () => Promise<boolean>; keepaliveIntervalMs?: number } = {}) {
  const peer = await startTestPeer({ authorizedKey: clientKey.public, sftp: opts.sftp, cwd: dir });
  peers.push(peer);
  const target = await SshTarget.open(
    'web',
    {
      host: peer.host,
      port: peer.port,
      user: 'root',
      privateKey: clientKey.private,
      hostPublicKey: peer.hostPublicKey,
      keepaliveIntervalMs: opts.keepaliveIntervalMs,
      keepaliveCountMax: 2,
    },
    { isAlive: opts.isAlive },
  );
  targets.push(target);
  return { peer, target };
}

describe('SshTarget.exec', () => {
  it('returns stdout, stderr and the exit code, passes env and stdin', async () => {
    const { target } = await setup();
    const r = await target.exec('echo "out $GREETING"; cat; echo err >&2; exit 3', { env: { GREETING: "it's me" }, stdin: 'from stdin\n' });
    expect(r).toMatchObject({ exitCode: 3, stdout: "out it's me\nfrom stdin\n", stderr: 'err\n', timedOut: false, droppedBytes: { stdout: 0, stderr: 0 }, maxOutputBytes: 1024 * 1024 });
    const ok = await target.exec('true');
    expect(ok.exitCode).toBe(0);
  });

  it('caps 50 MB of output at the tail, reports what it dropped, and never holds more than the tail', async () => {
    const { target } = await setup();
    const total = 50 * 1024 * 1024;
    const cap = 1024 * 1024;
    // Warm up first: the first big transfer in a process allocates ssh2's and the peer's buffers once.
    await target.exec(`head -c ${8 * 1024 * 1024} /dev/zero`);
    const baseline = liveBytes();
    let peak = baseline;
    let samples = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, liveBytes());
      samples++;
    }, 5);
    const r = await target.exec(`head -c ${total} /dev/zero | tr '\\0' x; echo END`, { timeoutMs: 120_000 }).finally(() => clearInterval(sampler));
    expect(r.exitCode).toBe(0);
    expect(r.stdout.length).toBe(cap);
    expect(r.stdout.endsWith('xxxxEND\n')).toBe(true);
    expect(r.droppedBytes.stdout).toBe(total + 4 - cap);
    expect(r.maxOutputBytes).toBe(cap); // the cap is reported with what it dropped
    // Live bytes after a full GC, not RSS: what is still reachable does not depend on when the collector ran or how
    // busy the machine is (a slower transfer only means more samples). Capped, it stays within the two tails plus
    // the SSH window and stream buffers (under 3 MiB seen); holding the output (cap lifted to 64 MiB) reaches ~38
    // MiB by the last sample. The peer runs in this process and honours backpressure, so its share is bounded too.
    const growthMiB = (peak - baseline) / 1024 / 1024;
    console.log(`50 MiB through the cap: live bytes grew ${growthMiB.toFixed(1)} MiB at most (${samples} samples)`);
    expect(samples, 'sampled while the output streamed').toBeGreaterThan(0);
    expect(growthMiB).toBeLessThan(12);
  });

  it('honours a smaller maxOutputBytes per call, on both streams, keeping the end and reporting the cap', async () => {
    const { target } = await setup();
    const r = await target.exec('seq 1 1000; seq 1 1000 >&2', { maxOutputBytes: 100 });
    const full = Array.from({ length: 1000 }, (_, i) => `${i + 1}\n`).join('');
    expect(r).toMatchObject({ exitCode: 0, stdout: full.slice(-100), stderr: full.slice(-100), maxOutputBytes: 100 });
    expect(r.droppedBytes).toEqual({ stdout: full.length - 100, stderr: full.length - 100 });
  });

  it('kills a never-ending command at its timeout and keeps the connection usable', async () => {
    const { peer, target } = await setup();
    const r = await target.exec('echo $$; exec sleep 600', { timeoutMs: 500 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(peer.signalsReceived).toContain('KILL');
    const pid = r.stdout.trim();
    expect(pid).toMatch(/^\d+$/);
    // Same connection: the command's process is gone.
    const check = await target.exec(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`);
    expect(check.stdout.trim()).toBe('gone');
  });

  it('settles a timed-out command even when the server stops answering (no keepalive)', async () => {
    const { peer, target } = await setup({ keepaliveIntervalMs: 0 });
    const running = target.exec('sleep 30', { timeoutMs: 600 });
    setTimeout(() => peer.freezeConnections(), 200);
    const r = await running;
    expect(r).toMatchObject({ timedOut: true, exitCode: null });
  });

  it('rejects a command in flight with SshConnectionLost when the connection drops, and reconnects after', async () => {
    let alive = false;
    const { peer, target } = await setup({ isAlive: async () => alive });
    const running = target.exec('echo started; sleep 30', { timeoutMs: 60_000 });
    setTimeout(() => peer.dropConnections(), 300);
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectionLost);
    expect((err as SshConnectionLost).vmAlive).toBe(false);
    expect((err as Error).message).toMatch(/web.*lost.*VM process is gone/);
    alive = true;
    const again = await target.exec('echo back');
    expect(again.stdout).toBe('back\n');
  });

  it('notices a hung peer through keepalive instead of waiting forever', async () => {
    const { peer, target } = await setup({ keepaliveIntervalMs: 200 });
    const running = target.exec('sleep 30', { timeoutMs: 60_000 });
    setTimeout(() => peer.freezeConnections(), 300);
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectionLost);
    expect((err as Error).message).toMatch(/keepalive/i);
  });
});

describe('SshTarget.exec with an abort signal', () => {
  it('kills a running command on abort, rejects with the reason, and keeps the connection usable', async () => {
    const { peer, target } = await setup();
    const pidFile = join(dir, 'abort-running.pid');
    const ac = new AbortController();
    const running = target.exec(`echo $$ > ${pidFile}; exec sleep 30`, { signal: ac.signal, timeoutMs: 60_000 });
    const pid = await pidIn(pidFile);
    const reason = new Error('SIGINT');
    ac.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(peer.signalsReceived).toEqual(['KILL']);
    // Not only did we stop waiting: the remote process is gone (30 s before sleep would have ended it).
    await eventually(async () => (pidAlive(pid) ? undefined : true));
    expect((await target.exec('echo still usable')).stdout).toBe('still usable\n');
  });

  it('runs nothing for a signal that is already aborted: no channel is opened', async () => {
    const { peer, target } = await setup();
    const reason = new Error('SIGTERM');
    await expect(target.exec(`touch ${join(dir, 'never-made')}`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(peer.commandsReceived).toEqual([]);
    expect(existsSync(join(dir, 'never-made'))).toBe(false);
  });

  it('reports an abort that lands during a timeout as the abort', async () => {
    const { peer, target } = await setup({ keepaliveIntervalMs: 0 });
    const ac = new AbortController();
    const reason = new Error('SIGINT');
    // The peer stops answering, so the timeout's 2 s close grace runs out in full and the abort lands inside it.
    const running = target.exec('sleep 30', { timeoutMs: 300, signal: ac.signal });
    peer.freezeConnections();
    setTimeout(() => ac.abort(reason), 600);
    await expect(running).rejects.toBe(reason);
  });
});

describe('SshTarget copies', () => {
  const variants = [
    { label: 'over SFTP', sftp: true },
    { label: 'through exec (no sftp subsystem)', sftp: false },
  ];
  for (const v of variants) {
    it(`round-trips a binary file ${v.label}, creating remote folders and keeping the mode`, async () => {
      if (v.sftp && !existsSync(SFTP_SERVER_PATH)) throw new Error(`${SFTP_SERVER_PATH} missing: apt-get install openssh-sftp-server`);
      const { target } = await setup({ sftp: v.sftp });
      const payload = randomBytes(300_000);
      const local = join(dir, `in-${v.sftp}.bin`);
      await writeFile(local, payload);
      await chmod(local, 0o750);
      const remote = join(dir, `remote-${v.sftp}`, 'a', 'b', 'file.bin');
      await target.copyTo(local, remote);
      expect((await stat(remote)).mode & 0o777).toBe(0o750);
      const back = join(dir, `back-${v.sftp}`, 'file.bin');
      await target.copyFrom(remote, back);
      expect((await readFile(back)).equals(payload)).toBe(true);
      expect((await stat(back)).mode & 0o777).toBe(0o750);
    });

    it(`stops a copy on abort ${v.label}, rejecting with the reason; an aborted signal copies nothing`, async () => {
      const { peer, target } = await setup({ sftp: v.sftp });
      const big = join(dir, `big-${v.sftp}.bin`);
      const size = 512 * 1024 * 1024;
      await writeFile(big, '');
      await truncate(big, size); // sparse: costs no disk here, and far more than one abort's worth of transfer
      const remote = join(dir, `big-remote-${v.sftp}`, 'big.bin');
      const ac = new AbortController();
      const reason = new Error('SIGINT');
      const copying = target.copyTo(big, remote, { signal: ac.signal });
      await eventually(async () => ((await stat(remote).catch(() => undefined))?.size ? true : undefined));
      ac.abort(reason);
      await expect(copying).rejects.toBe(reason);
      expect((await stat(remote)).size).toBeLessThan(size);
      if (!v.sftp) expect(peer.signalsReceived).toEqual(['KILL']);
      // Nothing starts for an aborted signal, either way.
      const commands = peer.commandsReceived.length;
      await expect(target.copyFrom(remote, join(dir, `never-${v.sftp}.bin`), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
      expect(peer.commandsReceived.length).toBe(commands);
      expect(existsSync(join(dir, `never-${v.sftp}.bin`))).toBe(false);
      expect((await target.exec('echo usable')).stdout).toBe('usable\n');
    });

    it(`reports a missing remote file ${v.label}`, async () => {
      const { target } = await setup({ sftp: v.sftp });
      await expect(target.copyFrom(join(dir, 'no-such-file'), join(dir, 'x'))).rejects.toThrow(/no-such-file/);
    });
  }
});
