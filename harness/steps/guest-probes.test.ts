// The busybox probes run for real here: busybox sh over this host's /proc, against a listener and a process we start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { busyboxUserland } from '../ssh/test-peer.js';
import { findProcesses, LISTENING_PORTS_COMMAND, parseListeningPorts, parseProcessList, PROCESS_LIST_COMMAND } from './guest-probes.js';

const run = promisify(execFile);
let dir: string;
let userland: { shell: string[]; path: string };
const bb = (cmd: string) => run(userland.shell[0]!, ['-c', cmd], { env: { PATH: userland.path }, maxBuffer: 16 * 1024 * 1024 });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'guest-probes-'));
  userland = await busyboxUserland(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseListeningPorts', () => {
  it('reads LISTEN sockets (st 0A) and ignores other states and headers', () => {
    const sample = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0',
      '   1: 0F02000A:0016 0202000A:C350 01 00000000:00000000 02:000A7C5A 00000000     0        0 5678 4 0000000000000000 20 4 29 10 -1',
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect([...parseListeningPorts(sample)].sort()).toEqual([22, 8080]);
  });

  it('finds a real listener through busybox sh and this host /proc', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const { stdout } = await bb(LISTENING_PORTS_COMMAND);
      expect(parseListeningPorts(stdout).has(port)).toBe(true);
    } finally {
      server.close();
    }
    const { stdout: after } = await bb(LISTENING_PORTS_COMMAND);
    expect(parseListeningPorts(after).has(port)).toBe(false);
  });
});

describe('process probe', () => {
  let child: ChildProcess;
  beforeAll(async () => {
    // A uniquely named copy of sleep, so its comm and argv[0] are ours alone.
    const exe = join(dir, 'probe-target-x');
    await copyFile('/bin/sleep', exe);
    child = spawn(exe, ['300'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
  });
  afterAll(() => {
    child.kill('SIGKILL');
  });

  it('lists processes with busybox only and finds one by comm or argv[0]', async () => {
    const { stdout } = await bb(PROCESS_LIST_COMMAND);
    const list = parseProcessList(stdout);
    const found = findProcesses(list, 'probe-target-x');
    expect(found.map((p) => p.pid)).toEqual([child.pid]);
    expect(found[0]!.cmdline).toBe(`${join(dir, 'probe-target-x')} 300`);
    expect(findProcesses(list, 'no-such-process-name')).toEqual([]);
  });

  it('matches a NAME with a space against the whole command line, and does not list the probe itself', async () => {
    const { stdout } = await bb(PROCESS_LIST_COMMAND);
    const list = parseProcessList(stdout);
    expect(findProcesses(list, 'probe-target-x 300').map((p) => p.pid)).toEqual([child.pid]);
    expect(list.some((p) => p.cmdline.includes('PROCESS') || p.cmdline.includes('for p in /proc'))).toBe(false);
  });

  it('treats a 15-character comm as the start of a longer name', () => {
    const list = parseProcessList('42\tkube-controller\t\n');
    expect(findProcesses(list, 'kube-controller-manager').map((p) => p.pid)).toEqual([42]);
    expect(findProcesses(list, 'kube')).toEqual([]);
  });
});
