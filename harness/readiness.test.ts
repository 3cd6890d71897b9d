// Readiness against a real SSH peer (ssh2's server, harness/ssh/test-peer.ts) behind a forwarder that behaves like
// qemu's user-mode hostfwd while the guest is down: it accepts connections and then says nothing.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EmittedEvent } from './events.js';
import { BootTimeout, HostKeyMismatch, VmExited } from './errors.js';
import type { StartedMachine } from './providers/provider.js';
import { waitForSsh } from './readiness.js';
import { connectSsh } from './ssh/connect.js';
import { startTestPeer, type TestPeer } from './ssh/test-peer.js';
import { SshTarget } from './targets/ssh-target.js';
import { generateEd25519KeyPair } from './ssh/keygen.js';

const clientKey = generateEd25519KeyPair();
let peer: TestPeer;
let consoleLog: string;

/** Like hostfwd with the guest down: holds connections silently until `open`, then forwards to the peer. */
async function forwarder(): Promise<{ port: number; open(): void; close(): Promise<void> }> {
  let isOpen = false;
  const held: Socket[] = [];
  const server: Server = createServer((c) => {
    if (!isOpen) {
      held.push(c);
      c.on('error', () => undefined);
      return;
    }
    const up = createConnection(peer.port, '127.0.0.1');
    c.pipe(up).pipe(c);
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    open: () => {
      isOpen = true;
    },
    close: () => {
      held.forEach((s) => s.destroy());
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function machine(port: number, alive = () => true): StartedMachine {
  return { name: 'vm1', provider: 'test', sshHost: '127.0.0.1', sshPort: port, forwards: {}, accel: 'tcg', consoleLog, dir: tmpdir(), isAlive: async () => alive() };
}

function connector(port: number, hostPublicKey = peer.hostPublicKey) {
  let calls = 0;
  return {
    calls: () => calls,
    connect: async () => {
      calls++;
      return new SshTarget('vm1', () => connectSsh({ host: '127.0.0.1', port, user: 'root', privateKey: clientKey.private, hostPublicKey, readyTimeoutMs: 5000 }));
    },
  };
}

beforeAll(async () => {
  peer = await startTestPeer({ authorizedKey: clientKey.public, sftp: false });
  const dir = await mkdtemp(join(tmpdir(), 'readiness-'));
  consoleLog = join(dir, 'console.log');
  await writeFile(consoleLog, Array.from({ length: 40 }, (_, i) => `console line ${i + 1}`).join('\n') + '\n');
});
afterAll(async () => {
  await peer.close();
});

describe('waitForSsh', () => {
  test('waits through silent connections, then returns a target that runs commands once SSH answers', async () => {
    const fwd = await forwarder();
    const events: EmittedEvent[] = [];
    const c = connector(fwd.port);
    setTimeout(() => fwd.open(), 1200);
    try {
      const target = await waitForSsh(machine(fwd.port), { timeoutMs: 30_000, connect: c.connect, emit: (e) => events.push(e), intervalMs: 100 });
      const r = await target.exec('echo ready-$((1+1))');
      expect(r.stdout.trim()).toBe('ready-2');
      await target.close();
    } finally {
      await fwd.close();
    }
    expect(events.some((e) => e.type === 'vm.waiting' && e.phase === 'tcp')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'vm.ready', vm: 'vm1' });
    // No handshake is tried before a banner was seen: exactly one session was opened.
    expect(c.calls()).toBe(1);
  });

  test('gives up with BootTimeout carrying the last 30 console lines when SSH never answers', async () => {
    const fwd = await forwarder();
    try {
      const err = await waitForSsh(machine(fwd.port), { timeoutMs: 1500, connect: connector(fwd.port).connect, emit: () => undefined, intervalMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BootTimeout);
      expect((err as BootTimeout).consoleTail).toHaveLength(30);
      expect((err as BootTimeout).consoleTail.at(-1)).toBe('console line 40');
      expect((err as BootTimeout).message).toContain('console line 11');
    } finally {
      await fwd.close();
    }
  });

  test('fails fast with VmExited when the machine process is gone', async () => {
    const fwd = await forwarder();
    let alive = true;
    setTimeout(() => (alive = false), 300);
    try {
      const err = await waitForSsh(machine(fwd.port, () => alive), { timeoutMs: 60_000, connect: connector(fwd.port).connect, emit: () => undefined, intervalMs: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VmExited);
      expect((err as VmExited).message).toContain('console line 40');
    } finally {
      await fwd.close();
    }
  });

  test('refuses a guest presenting another host key at once, without retrying until the timeout', async () => {
    const other = generateEd25519KeyPair();
    const c = connector(peer.port, other.public);
    const err = await waitForSsh(machine(peer.port), { timeoutMs: 60_000, connect: c.connect, emit: () => undefined, intervalMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect(c.calls()).toBe(1);
  });
});
