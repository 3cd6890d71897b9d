// runStep against the in-process SSH test peer, whose commands run in busybox sh with only busybox applets
// (like the tiny guest image). Retries use a stepping clock, so waits cost no real time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssertionFailed, SshConnectionLost } from '../errors.js';
import { pidAlive } from '../lock.js';
import type { EmittedEvent } from '../events.js';
import type { Clock } from '../retry.js';
import { stepSchema, type Step } from '../scenario/schema.js';
import { busyboxUserland, startTestPeer, type TestPeer } from '../ssh/test-peer.js';
import { SshTarget } from '../targets/ssh-target.js';
import { runStep } from './run-step.js';
import { COMMAND_LOG_LINES } from './command-log.js';
import { EventBus } from '../events.js';
import { openDatabase } from '../store/db.js';
import { loadRunReport } from '../store/load-run-report.js';
import { runReportFromEvents } from '../store/run-report-from-events.js';
import { formatRunReport } from '../cli/commands/runs-format.js';
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from '../targets/ssh-target.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';

const clientKey = generateEd25519KeyPair();
let dir: string;
let peer: TestPeer;
let target: SshTarget;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-step-'));
  const userland = await busyboxUserland(dir);
  peer = await startTestPeer({ authorizedKey: clientKey.public, cwd: dir, ...userland });
  target = await SshTarget.open('web', { host: peer.host, port: peer.port, user: 'root', privateKey: clientKey.private, hostPublicKey: peer.hostPublicKey });
});
afterAll(async () => {
  await target.close();
  await peer.close();
  await rm(dir, { recursive: true, force: true });
});

/** Time moves only when someone sleeps. */
function steppingClock(): Clock {
  let t = 1_000_000;
  return { now: () => t, sleep: async (ms) => void (t += ms) };
}

/** Polls `probe` (real time, 50 ms apart) until it returns a value; gives up after 10 s. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The last pid a command appended to `file`, once there is one. */
function lastPidIn(file: string): Promise<number> {
  return eventually(async () => {
    const m = /(\d+)\n$/.exec(await readFile(file, 'utf8').catch(() => ''));
    return m ? Number(m[1]) : undefined;
  });
}

function step(input: Record<string, unknown>): Step {
  return stepSchema.parse({ name: 'a step', on: 'web', ...input });
}

type LogEvent = Extract<EmittedEvent, { type: 'vm.log' }>;
const isLog = (e: EmittedEvent): e is LogEvent => e.type === 'vm.log';

/** Runs a step; `events` are its step.* events, `logs` the vm.log lines of its commands. */
async function go(input: Record<string, unknown>) {
  const all: EmittedEvent[] = [];
  const result = await runStep(step(input), target, { emit: (e) => all.push(e), index: 3, clock: steppingClock(), baseDir: dir });
  return { result, events: all.filter((e) => !isLog(e)), logs: all.filter(isLog) };
}

describe('run steps', () => {
  it('passes when exit code and matchers hold, and emits started/finished with the same fields', async () => {
    const { result, events } = await go({ run: 'uname -s; echo warn >&2', expect: { exitCode: 0, stdout: 'Linux', stderr: '/^w.rn$/m' } });
    expect(result).toMatchObject({ status: 'passed', kind: 'run', exitCode: 0, stdoutTail: 'Linux', stderrTail: 'warn', error: undefined, failure: undefined, attempts: 1 });
    expect(events.map((e) => e.type)).toEqual(['step.started', 'step.finished']);
    expect(events[1]).toMatchObject({ index: 3, name: 'a step', on: 'web', status: 'passed', command: 'uname -s; echo warn >&2', exitCode: 0 });
  });

  it('fails on a wrong exit code with the command, exit code and output tails', async () => {
    const { result, events } = await go({ run: 'seq 1 100; echo oops >&2; exit 4' });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(4);
    expect(result.error).toMatch(/exit code 4, expected 0/);
    expect(result.stdoutTail!.split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => String(81 + i)));
    expect(result.stderrTail).toBe('oops');
    expect(result.failure).toBeInstanceOf(AssertionFailed);
    expect(result.failure!.details).toMatchObject({ command: 'seq 1 100; echo oops >&2; exit 4', exitCode: 4 });
    expect(events[1]).toMatchObject({ status: 'failed', exitCode: 4, error: result.error, stdoutTail: result.stdoutTail });
  });

  it('fails when stdout does not match a regex, and treats omitted exitCode as 0', async () => {
    const { result } = await go({ run: 'echo version 1.2; exit 1', expect: { stdout: '/version 2\\./' } });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('exit code 1, expected 0');
    expect(result.error).toContain('stdout does not match /version 2\\./');
  });

  it('accepts an expected non-zero exit code', async () => {
    const { result } = await go({ run: 'exit 7', expect: { exitCode: 7 } });
    expect(result.status).toBe('passed');
  });

  it('fails a command that outlives the step timeout, reporting it was killed', async () => {
    const { result } = await go({ run: 'echo begun; sleep 600', timeout: '400ms' });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/timed out after \d+ ms and was killed/);
    expect(result.stdoutTail).toBe('begun');
  });
});

describe('assert steps', () => {
  it('port: passes for a port listening on the host the peer runs on, fails naming what listens', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    try {
      expect((await go({ assert: { port } })).result.status).toBe('passed');
    } finally {
      srv.close();
    }
    const { result } = await go({ assert: { port } });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(new RegExp(`port ${port} is not listening on web \\(listening: .*${peer.port}`));
  });

  it('file: exists / contains, with substring and regex', async () => {
    await writeFile(join(dir, 'motd'), 'welcome to web-01\n');
    expect((await go({ assert: { file: join(dir, 'motd') } })).result.status).toBe('passed');
    expect((await go({ assert: { file: join(dir, 'motd'), contains: '/web-\\d+/' } })).result.status).toBe('passed');
    const miss = await go({ assert: { file: join(dir, 'motd'), contains: 'goodbye' } });
    expect(miss.result.error).toMatch(/does not contain "goodbye"/);
    const none = await go({ assert: { file: join(dir, 'nope') } });
    expect(none.result.error).toMatch(/nope does not exist/);
  });

  it('process: finds a running process by name, or lists what runs', async () => {
    const ok = await go({ assert: { process: 'node' } });
    expect(ok.result.status).toBe('passed');
    const miss = await go({ assert: { process: 'no-such-daemon' } });
    expect(miss.result.status).toBe('failed');
    expect(miss.result.error).toMatch(/no process named no-such-daemon on web \(seen: .*node/);
  });

  it('command: passes on exit 0 only', async () => {
    expect((await go({ assert: { command: 'test -d /proc' } })).result.status).toBe('passed');
    expect((await go({ assert: { command: 'test -d /nonexistent' } })).result.status).toBe('failed');
  });

  it('within: retries until the assertion holds', async () => {
    const counter = join(dir, 'within-counter');
    const cmd = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ]`;
    const { result } = await go({ assert: { command: cmd }, within: '10s' });
    expect(result.status).toBe('passed');
    expect(result.attempts).toBe(3);
  });

  it('within: reports what the last try saw when it never holds', async () => {
    const { result } = await go({ assert: { file: join(dir, 'never'), contains: 'x' }, within: '5s' });
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(5);
    expect(result.error).toMatch(/never does not exist .*still failing after 5000 ms, 5 attempts/);
    expect(result.stderrTail).toMatch(/can't open|No such file/);
  });
});

describe('waitUntil steps', () => {
  it('succeeds once the command does', async () => {
    const counter = join(dir, 'wait-counter');
    const cmd = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo try $n; [ $n -ge 4 ]`;
    const { result } = await go({ waitUntil: { command: cmd, timeout: '1m', interval: '2s' } });
    expect(result).toMatchObject({ status: 'passed', attempts: 4, exitCode: 0, stdoutTail: 'try 4' });
  });

  it('times out with the last output', async () => {
    const counter = join(dir, 'wait-counter-2');
    const cmd = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo not ready $n; exit 3`;
    const { result } = await go({ waitUntil: { command: cmd, timeout: '3s', interval: '1s' } });
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBe(3);
    expect(result.stdoutTail).toBe(`not ready ${result.attempts}`);
    expect(result.error).toMatch(/exit code 3, expected exit code 0 \(still failing after 3000 ms, 3 attempts\)/);
  });
});

describe('copy steps', () => {
  it('copies to and from the machine, resolving local paths against baseDir', async () => {
    await writeFile(join(dir, 'local.txt'), 'payload\n');
    const to = await go({ copyTo: { from: 'local.txt', to: join(dir, 'guest', 'etc', 'app.conf') } });
    expect(to.result).toMatchObject({ status: 'passed', kind: 'copyTo', command: undefined });
    const from = await go({ copyFrom: { from: join(dir, 'guest', 'etc', 'app.conf'), to: 'out/app.conf' } });
    expect(from.result.status).toBe('passed');
    expect(await readFile(join(dir, 'out', 'app.conf'), 'utf8')).toBe('payload\n');
  });

  it('reads `~/` as the home directory, as the scenario check does (not <baseDir>/~)', async () => {
    const saved = process.env.HOME;
    process.env.HOME = join(dir, 'home'); // os.homedir() follows HOME
    try {
      await mkdir(join(dir, 'home'), { recursive: true });
      await writeFile(join(dir, 'home', 'in-home.txt'), 'from home\n');
      const to = await go({ copyTo: { from: '~/in-home.txt', to: join(dir, 'guest', 'home-copy') } });
      expect(to.result.status).toBe('passed');
      expect(await readFile(join(dir, 'guest', 'home-copy'), 'utf8')).toBe('from home\n');
      await go({ copyFrom: { from: join(dir, 'guest', 'home-copy'), to: '~/back.txt' } });
      expect(await readFile(join(dir, 'home', 'back.txt'), 'utf8')).toBe('from home\n');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('fails (not throws) when the source is missing', async () => {
    const { result } = await go({ copyFrom: { from: join(dir, 'missing.bin'), to: 'x.bin' } });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/missing\.bin/);
  });
});

/** The SSH target's default per-stream output cap, which steps run under. */
const cap = DEFAULT_MAX_OUTPUT_BYTES;

describe('output cap (a guest printing megabytes)', () => {
  it('keeps the end of stdout and says how much of the start was dropped, under which cap, in the result and step.finished', async () => {
    const total = 3 * 1024 * 1024;
    const { result, events } = await go({ run: `head -c ${total} /dev/zero | tr '\\0' x; echo; echo END; echo fine >&2` });
    expect(result.status).toBe('passed');
    const dropped = total + '\nEND\n'.length - cap;
    expect(result.droppedBytes).toEqual({ stdout: dropped, stderr: 0 });
    expect(result.outputCapBytes).toBe(cap);
    expect(result.stdoutTail!.endsWith('xxx\nEND')).toBe(true); // the end survived
    expect(events[1]).toMatchObject({ type: 'step.finished', droppedBytes: { stdout: dropped, stderr: 0 }, outputCapBytes: cap });
  });

  it('reports zero dropped bytes (and the cap) for small output, and nothing for a step that ran no command', async () => {
    const small = await go({ run: 'echo hi' });
    expect(small.result).toMatchObject({ droppedBytes: { stdout: 0, stderr: 0 }, outputCapBytes: cap });
    expect(small.events[1]).toMatchObject({ droppedBytes: { stdout: 0, stderr: 0 }, outputCapBytes: cap });
    await writeFile(join(dir, 'cap-copy.txt'), 'x');
    const copy = await go({ copyTo: { from: 'cap-copy.txt', to: join(dir, 'cap-copied.txt') } });
    expect(copy.result).toMatchObject({ droppedBytes: undefined, outputCapBytes: undefined });
    expect(copy.events[1]).not.toHaveProperty('droppedBytes');
  });
});

describe('command output on the bus (vm.log), for the record\'s command_logs', () => {
  it('logs the command line, then its stdout and stderr lines, stream-tagged, under the machine name', async () => {
    const { logs } = await go({ run: 'echo one; echo two; echo oops >&2', name: 'lines' });
    expect(logs.map((l) => [l.vm, l.stream, l.line])).toEqual([
      ['web', 'command', '$ echo one; echo two; echo oops >&2'],
      ['web', 'stdout', 'one'],
      ['web', 'stdout', 'two'],
      ['web', 'stderr', 'oops'],
    ]);
  });

  it('logs every command a retrying step runs', async () => {
    const counter = join(dir, 'log-counter');
    const cmd = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo try $n; [ $n -ge 3 ]`;
    const { result, logs } = await go({ waitUntil: { command: cmd, timeout: '1m', interval: '1s' } });
    expect(result.attempts).toBe(3);
    expect(logs.filter((l) => l.stream === 'command').map((l) => l.line)).toEqual([`$ ${cmd}`, `$ ${cmd}`, `$ ${cmd}`]);
    expect(logs.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['try 1', 'try 2', 'try 3']);
  });

  it(`puts at most the last ${COMMAND_LOG_LINES} lines of a stream on the bus, saying so`, async () => {
    const { logs } = await go({ run: 'seq 1 5000' });
    const out = logs.filter((l) => l.stream === 'stdout').map((l) => l.line);
    expect(out).toHaveLength(COMMAND_LOG_LINES);
    expect(out[0]).toBe(String(5000 - COMMAND_LOG_LINES + 1));
    expect(out.at(-1)).toBe('5000');
    expect(logs.map((l) => l.line)).toContain(`stdout: logged the last ${COMMAND_LOG_LINES} of 5000 lines`);
  });

  it('reach the store: command_logs rows for the VM, the cut figures on the step row, and `runs show` says what was dropped', async () => {
    const db = await openDatabase(join(dir, 'record.db'));
    const bus = new EventBus('run-cmdlog');
    bus.subscribe(new SqliteRecorder(db));
    bus.emit({ type: 'run.started', scenario: 'cmdlog', file: 'cmdlog.yaml', host: 'test', options: {} });
    const ctx = { emit: (e: EmittedEvent) => void bus.emit(e), baseDir: dir };
    await runStep(step({ name: 'small', run: 'echo alpha; echo beta >&2' }), target, { ...ctx, index: 0 });
    const total = 2_000_000;
    await runStep(step({ name: 'big', run: `head -c ${total} /dev/zero | tr '\\0' y; echo; echo tail-end` }), target, { ...ctx, index: 1 });
    bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 1 });
    await bus.close(); // the recorder flushes; the db stays open (not the recorder's)
    try {
      const rows = db.prepare(`SELECT stream, line FROM command_logs WHERE run_id = 'run-cmdlog' AND vm = 'web' ORDER BY id`).all() as Array<{ stream: string; line: string }>;
      expect(rows.slice(0, 3)).toEqual([
        { stream: 'command', line: '$ echo alpha; echo beta >&2' },
        { stream: 'stdout', line: 'alpha' },
        { stream: 'stderr', line: 'beta' },
      ]);
      const dropped = total + '\ntail-end\n'.length - cap;
      expect(rows.map((r) => r.line)).toContain(`stdout truncated: 929.1 KiB dropped (kept the last 1 MiB)`);
      expect(rows.at(-1)).toEqual({ stream: 'stdout', line: 'tail-end' });
      // What went on the bus for 2 MB of output is bounded: a few rows, the long line cut to its last 64 KiB.
      expect(rows.length).toBeLessThan(10);
      expect(rows.reduce((n, r) => n + r.line.length, 0)).toBeLessThan(70 * 1024);
      const steps = db.prepare(`SELECT name, stdout_dropped_bytes AS o, stderr_dropped_bytes AS e, output_cap_bytes AS cap FROM steps WHERE run_id = 'run-cmdlog' ORDER BY idx`).all();
      expect(steps).toEqual([
        { name: 'small', o: 0, e: 0, cap },
        { name: 'big', o: dropped, e: 0, cap },
      ]);
      const report = loadRunReport(db, 'run-cmdlog');
      expect(report.steps[1]).toMatchObject({ droppedBytes: { stdout: dropped, stderr: 0 }, outputCapBytes: cap });
      expect(report.steps).toEqual(runReportFromEvents(bus.history).steps); // the JSON reporter's fold says the same
      const shown = formatRunReport(report);
      expect(shown).toContain('  ok   step 2 big  on web');
      expect(shown).toContain('      stdout truncated: 929.1 KiB dropped (kept the last 1 MiB)');
      expect(shown.match(/truncated/g)).toHaveLength(1);
    } finally {
      db.close();
    }
  });
});

describe('machine lost', () => {
  it('emits step.finished and throws SshConnectionLost when the connection drops mid-step', async () => {
    const events: EmittedEvent[] = [];
    setTimeout(() => peer.dropConnections(), 300);
    const err = await runStep(step({ run: 'sleep 30' }), target, { emit: (e) => events.push(e), index: 0, baseDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectionLost);
    expect(events.map((e) => e.type)).toEqual(['step.started', 'vm.log', 'step.finished']); // the command line, logged as it started
    expect(events[2]).toMatchObject({ status: 'failed', error: expect.stringMatching(/lost/) });
  });
});

describe('aborted steps (the run was interrupted)', () => {
  /** Runs a step with the real clock and an abort signal; resolves to what it threw (or returned). */
  function start(input: Record<string, unknown>, signal: AbortSignal) {
    const events: EmittedEvent[] = [];
    const settled = runStep(step(input), target, { emit: (e) => events.push(e), index: 0, baseDir: dir, signal }).then(
      (r) => r,
      (e: unknown) => e,
    );
    return { events, settled };
  }

  it('run: kills the command, reports the step and rethrows the reason', async () => {
    const pids = join(dir, 'abort-run.pids');
    const ac = new AbortController();
    const reason = new Error('SIGINT');
    const { events, settled } = start({ run: `echo $$ >> ${pids}; exec sleep 30`, timeout: '5m' }, ac.signal);
    const pid = await lastPidIn(pids);
    ac.abort(reason);
    expect(await settled).toBe(reason);
    expect(events.map((e) => e.type)).toEqual(['step.started', 'vm.log', 'step.finished']);
    expect(events[2]).toMatchObject({ status: 'failed', error: 'step "a step" on web: aborted (SIGINT)' });
    await eventually(async () => (pidAlive(pid) ? undefined : true));
  });

  it('waitUntil: stops retrying at once, mid-interval', async () => {
    const pids = join(dir, 'abort-wait.pids');
    const command = `echo $$ >> ${pids}; exit 1`;
    const ac = new AbortController();
    const reason = new Error('SIGTERM');
    // A 10-minute interval: only an abort that cuts the sleep short ends this step within the test's timeout.
    const { settled } = start({ waitUntil: { command, timeout: '20m', interval: '10m' } }, ac.signal);
    await lastPidIn(pids);
    ac.abort(reason);
    expect(await settled).toBe(reason);
    expect((await readFile(pids, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(peer.commandsReceived.filter((c) => c === command)).toHaveLength(1);
  });

  it('assert within: kills the probe that is running and stops retrying', async () => {
    const pids = join(dir, 'abort-within.pids');
    const command = `echo $$ >> ${pids}; exec sleep 30`;
    const ac = new AbortController();
    const reason = new Error('SIGINT');
    const { settled } = start({ assert: { command }, within: '5m', timeout: '5m' }, ac.signal);
    const pid = await lastPidIn(pids);
    ac.abort(reason);
    expect(await settled).toBe(reason);
    await eventually(async () => (pidAlive(pid) ? undefined : true));
    expect(peer.commandsReceived.filter((c) => c === command)).toHaveLength(1);
  });

  it('runs nothing when the run was already aborted', async () => {
    const before = peer.commandsReceived.length;
    const reason = new Error('SIGINT');
    for (const input of [
      { run: `touch ${join(dir, 'never-run')}` },
      { waitUntil: { command: `touch ${join(dir, 'never-run')}`, timeout: '1m' } },
      { copyTo: { from: 'local.txt', to: join(dir, 'never-copied') } },
    ]) {
      expect(await start(input, AbortSignal.abort(reason)).settled).toBe(reason);
    }
    expect(peer.commandsReceived.length).toBe(before);
    expect(existsSync(join(dir, 'never-run'))).toBe(false);
    expect(existsSync(join(dir, 'never-copied'))).toBe(false);
  });
});
