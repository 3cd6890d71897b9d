// The QMP client against a real qemu monitor (`-machine none`: no guest, starts at once) and a silent socket.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qemuUnavailable } from '../../fixtures/backend-probes.js';
import { describeReal } from '../../fixtures/real-backend.js';
import { qmpCommand } from './qmp.js';

let dir: string;
let qemu: ResultPromise;
let monitor: string;
/** -name of the qemu under test: query-name and `info name` must answer with it. */
const NAME = 'qmp-under-test';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describeReal('qmpCommand', await qemuUnavailable(), () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qmp-'));
    monitor = join(dir, 'monitor.socket');
    qemu = execa('qemu-system-x86_64', ['-machine', 'none', '-name', NAME, '-nodefaults', '-display', 'none', '-qmp', `unix:${monitor},server=on,wait=off`], { reject: false });
    for (let i = 0; i < 100; i++) {
      if (await qmpCommand(monitor, 'query-status', undefined, 1000).then(() => true, () => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('qemu -machine none never opened its QMP socket');
  });
  afterAll(async () => {
    qemu.kill('SIGKILL');
    await qemu;
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a command and returns that command's answer, arguments included", async () => {
    // -machine none runs at once (no -S): not the greeting, not qmp_capabilities' empty answer, but query-status's.
    expect(await qmpCommand(monitor, 'query-status')).toMatchObject({ status: 'running', running: true });
    expect(await qmpCommand(monitor, 'query-name')).toEqual({ name: NAME });
    // The arguments reach qemu: the HMP command line inside them is what runs.
    expect(await qmpCommand(monitor, 'human-monitor-command', { 'command-line': 'info name' })).toBe(`${NAME}\r\n`);
  });

  it('leaves no timer behind once it returns (a left-over timer kept every run alive for its timeout)', async () => {
    const before = timers();
    await qmpCommand(monitor, 'query-status', undefined, 60_000);
    expect(timers()).toBe(before);
  });

  it('reports an error answer as an error naming the command', async () => {
    await expect(qmpCommand(monitor, 'no-such-command')).rejects.toThrow(/QMP no-such-command: CommandNotFound/);
  });

  it('gives up on a monitor that never speaks, naming the timeout', async () => {
    const silent = join(dir, 'silent.socket');
    const peers = new Set<Socket>();
    const server: Server = createServer((s) => void peers.add(s));
    await new Promise<void>((r) => server.listen(silent, r));
    try {
      await expect(qmpCommand(silent, 'query-status', undefined, 300)).rejects.toThrow(/no answer within 300 ms/);
    } finally {
      for (const p of peers) p.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
