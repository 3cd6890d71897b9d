import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { HostKeyMismatch, SshConnectFailed } from '../errors.js';
import { connectSsh } from './connect.js';
import { fingerprintSha256, publicKeyBlob } from './host-key.js';
import { startTestPeer, type TestPeer } from './test-peer.js';
import { generateEd25519KeyPair } from './keygen.js';

const clientKey = generateEd25519KeyPair();
let peer: TestPeer;

beforeAll(async () => {
  peer = await startTestPeer({ authorizedKey: clientKey.public });
});
afterAll(async () => {
  await peer.close();
});

function opts(over: Partial<Parameters<typeof connectSsh>[0]> = {}) {
  return { host: peer.host, port: peer.port, user: 'root', privateKey: clientKey.private, hostPublicKey: peer.hostPublicKey, ...over };
}

describe('connectSsh', () => {
  it('accepts the pinned host key and reports its OpenSSH-style fingerprint', async () => {
    const s = await connectSsh(opts());
    expect(s.isOpen).toBe(true);
    expect(s.hostKeyFingerprint).toBe(fingerprintSha256(publicKeyBlob(peer.hostPublicKey)));
    expect(s.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    await s.close();
    expect(s.isOpen).toBe(false);
    expect(await s.closed).toBeUndefined();
  });

  it('refuses a server that presents a different host key, naming both fingerprints', async () => {
    const other = generateEd25519KeyPair().public;
    const err = await connectSsh(opts({ hostPublicKey: other })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    const m = err as HostKeyMismatch;
    expect(m.expected).toBe(fingerprintSha256(publicKeyBlob(other)));
    expect(m.presented).toBe(fingerprintSha256(publicKeyBlob(peer.hostPublicKey)));
    expect(m.message).toContain(m.expected!);
    expect(m.message).toContain(m.presented!);
  });

  it('refuses to connect at all when no host key is pinned', async () => {
    const err = await connectSsh(opts({ hostPublicKey: undefined })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatch);
    expect((err as Error).message).toMatch(/no pinned host key/);
  });

  it('reports a refused key as an auth failure', async () => {
    const stranger = generateEd25519KeyPair();
    const err = await connectSsh(opts({ privateKey: stranger.private })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectFailed);
    expect((err as SshConnectFailed).stage).toBe('auth');
  });

  it('reports a closed port as a tcp failure', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const err = await connectSsh(opts({ port })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshConnectFailed);
    expect((err as SshConnectFailed).stage).toBe('tcp');
  });

  it('gives up on a server that never speaks SSH and closes the socket', async () => {
    let resolveClosed!: () => void;
    const closedOnServer = new Promise<void>((r) => (resolveClosed = r));
    const silent = createServer((sock) => {
      sock.resume(); // read (and ignore) the client banner so the FIN is seen
      sock.on('close', resolveClosed);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (silent.address() as { port: number }).port;
      const err = await connectSsh(opts({ port, readyTimeoutMs: 300 })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshConnectFailed);
      expect((err as SshConnectFailed).stage).toBe('handshake');
      await closedOnServer; // hangs (test timeout) if the client left its socket open
    } finally {
      silent.close();
    }
  });

  it('stops when its signal aborts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('test aborted'));
    await expect(connectSsh(opts({ signal: ac.signal }))).rejects.toThrow('test aborted');
  });
});
