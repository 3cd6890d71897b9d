// One SSH connection to a machine, with the host key pinned: the server must present exactly the key the
// harness baked into the image. No pinned key means no connection (the harness never trusts blindly).
import { connect as tcpConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Client as SshClient, ClientErrorExtensions } from 'ssh2';
import { HarnessError, HostKeyMismatch, SshConnectFailed } from '../errors.js';
import { fingerprintSha256, publicKeyBlob } from './host-key.js';

export interface ConnectOptions {
  host: string;
  port: number;
  user: string;
  privateKey: string | Buffer;
  /** The guest's host public key line ("ssh-ed25519 AAAA..."); required (undefined is refused). */
  hostPublicKey: string | undefined;
  /** How long the TCP connect + handshake + auth may take. Default 20 s. */
  readyTimeoutMs?: number;
  /** SSH-level keepalive: a dead or hung peer is noticed after interval * countMax. Defaults 5000 ms x 3. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  signal?: AbortSignal;
}

export interface SshSession {
  readonly client: SshClient;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** SHA256:... of the (pinned) host key the server presented. */
  readonly hostKeyFingerprint: string;
  /** True until the connection ends, for whatever reason. */
  readonly isOpen: boolean;
  /** Resolves once the connection is gone: undefined after our own close(), else why it went. */
  readonly closed: Promise<Error | undefined>;
  close(): Promise<void>;
}

type SshError = Error & Partial<ClientErrorExtensions>;

/** Opens a connection; rejects with HostKeyMismatch, SshConnectFailed or the abort reason, leaving no socket behind. */
export async function connectSsh(o: ConnectOptions): Promise<SshSession> {
  if (!o.hostPublicKey) throw new HostKeyMismatch(o.host, o.port, undefined, undefined);
  let pinned: Buffer;
  try {
    pinned = publicKeyBlob(o.hostPublicKey);
  } catch (e) {
    throw new HarnessError(`pinned host key for ${o.host}:${o.port}: ${(e as Error).message}`, { cause: e });
  }
  o.signal?.throwIfAborted();
  const expected = fingerprintSha256(pinned);
  const client = new ssh2.Client();
  // We open the socket ourselves so every path can destroy it: ssh2's destroy() skips a half-closed socket.
  const sock = tcpConnect({ host: o.host, port: o.port });
  sock.on('error', () => {}); // reported through the client's 'error' event
  let presented: Buffer | undefined;

  return new Promise<SshSession>((resolve, reject) => {
    let settled = false;
    const detach = () => {
      o.signal?.removeEventListener('abort', onAbort);
      client.removeListener('error', onError);
      client.removeListener('close', onEarlyClose);
      client.removeListener('ready', onReady);
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      detach();
      client.on('error', () => {}); // late socket errors after destroy must not crash the process
      client.destroy();
      sock.destroy();
      reject(err);
    };
    const onAbort = () => fail(o.signal?.reason instanceof Error ? o.signal.reason : new HarnessError('SSH connect aborted'));
    const onError = (err: SshError) => fail(classify(o, err, expected, presented, pinned));
    const onEarlyClose = () => fail(new SshConnectFailed(o.host, o.port, 'handshake', 'the server closed the connection before the handshake finished'));
    const onReady = () => {
      if (settled) return;
      settled = true;
      detach();
      resolve(openSession(client, sock, o, fingerprintSha256(presented ?? pinned)));
    };

    o.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('error', onError);
    client.once('close', onEarlyClose);
    client.once('ready', onReady);
    try {
      client.connect({
        sock,
        host: o.host,
        port: o.port,
        username: o.user,
        privateKey: o.privateKey,
        // Raw key blob (no hostHash): accept only a byte-for-byte match with the pinned key.
        hostVerifier: (key: Buffer) => {
          presented = key;
          return key.equals(pinned);
        },
        readyTimeout: o.readyTimeoutMs ?? 20_000,
        keepaliveInterval: o.keepaliveIntervalMs ?? 5_000,
        keepaliveCountMax: o.keepaliveCountMax ?? 3,
        tryKeyboard: false,
      });
    } catch (e) {
      fail(new SshConnectFailed(o.host, o.port, 'auth', (e as Error).message, { cause: e }));
    }
  });
}

/** Maps an ssh2 error during connect to the typed error a caller can act on. */
function classify(o: ConnectOptions, err: SshError, expected: string, presented: Buffer | undefined, pinned: Buffer): Error {
  if (presented && !presented.equals(pinned)) return new HostKeyMismatch(o.host, o.port, expected, fingerprintSha256(presented));
  if (err.level === 'client-socket') return new SshConnectFailed(o.host, o.port, 'tcp', err.message, { cause: err });
  if (err.level === 'client-authentication')
    return new SshConnectFailed(o.host, o.port, 'auth', `the server refused user ${o.user} with the given key (${err.message})`, { cause: err });
  return new SshConnectFailed(o.host, o.port, 'handshake', err.message, { cause: err });
}

/** Wraps a ready client: tracks whether it is open and why it closed. */
function openSession(client: SshClient, sock: Socket, o: ConnectOptions, hostKeyFingerprint: string): SshSession {
  let open = true;
  let closing = false;
  let lastError: Error | undefined;
  let resolveClosed!: (e: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
  const markClosed = () => {
    if (!open) return;
    open = false;
    resolveClosed(closing ? undefined : (lastError ?? new Error('the server closed the connection')));
  };
  client.on('error', (e: Error) => {
    lastError = e;
  });
  client.on('end', markClosed);
  client.on('close', markClosed);
  return {
    client,
    host: o.host,
    port: o.port,
    user: o.user,
    hostKeyFingerprint,
    get isOpen() {
      return open;
    },
    closed,
    async close() {
      if (!open) return;
      closing = true;
      client.end();
      // A hung peer may never confirm: give it a moment, then drop the socket.
      const timer = setTimeout(() => sock.destroy(), 2_000);
      await closed;
      clearTimeout(timer);
    },
  };
}
