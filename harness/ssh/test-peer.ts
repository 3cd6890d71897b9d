// TEST PEER (for unit tests only): a real SSH server on 127.0.0.1, built on ssh2's Server, that runs each exec
// request with the local /bin/sh and serves the sftp subsystem with OpenSSH's own sftp-server. It stands in for
// the guest's sshd/dropbear so the SSH layer can be tested without booting a VM. Like sshd it delivers `signal`
// requests to the command's process only, and does not kill a command when the client closes its channel.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel } from 'ssh2';
import { publicKeyBlob } from './host-key.js';
import { generateEd25519KeyPair } from './keygen.js';

const execFileAsync = promisify(execFile);

export const SFTP_SERVER_PATH = '/usr/lib/openssh/sftp-server';

export interface TestPeerOptions {
  /** Public key line the peer accepts (publickey auth, signature verified). */
  authorizedKey: string;
  /** Host private key (OpenSSH PEM); generated (ed25519) when omitted. */
  hostPrivateKey?: string;
  /** Serve the sftp subsystem (needs openssh-sftp-server). Default true. */
  sftp?: boolean;
  /** Working directory for commands and sftp. */
  cwd?: string;
  /** The shell that runs exec requests (`<shell...> -c CMD`) and its PATH; default /bin/sh and the host PATH. */
  shell?: string[];
  path?: string;
}

export interface TestPeer {
  host: string;
  port: number;
  /** The host public key line the peer presents ("ssh-ed25519 AAAA..."). */
  hostPublicKey: string;
  /** Signal names received through `signal` channel requests, in order. */
  signalsReceived: string[];
  /** Commands received through `exec` requests, in order (a client that opens no channel adds nothing). */
  commandsReceived: string[];
  /** Destroys every client socket at once, as a VM dying would. */
  dropConnections(): void;
  /** Stops reading from every client socket and answers nothing, as a hung VM would. */
  freezeConnections(): void;
  close(): Promise<void>;
}

/**
 * A folder of busybox applet links, so the peer's commands see only what a busybox guest has
 * (no ss, no pgrep, no GNU options). Returns the shell argv and PATH for startTestPeer.
 */
export async function busyboxUserland(dir: string, busybox = '/bin/busybox'): Promise<{ shell: string[]; path: string }> {
  const bin = join(dir, 'busybox-bin');
  await mkdir(bin, { recursive: true });
  const { stdout } = await execFileAsync(busybox, ['--list']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    await symlink(busybox, join(bin, applet)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  return { shell: [join(bin, 'sh')], path: bin };
}

export async function startTestPeer(opts: TestPeerOptions): Promise<TestPeer> {
  let hostPrivateKey = opts.hostPrivateKey;
  let hostPublicKey: string;
  if (hostPrivateKey) {
    const parsed = ssh2.utils.parseKey(hostPrivateKey);
    if (parsed instanceof Error) throw parsed;
    const key = Array.isArray(parsed) ? parsed[0]! : parsed;
    hostPublicKey = `${key.type} ${key.getPublicSSH().toString('base64')}`;
  } else {
    const pair = generateEd25519KeyPair();
    hostPrivateKey = pair.private;
    hostPublicKey = pair.public.trim().split(/\s+/).slice(0, 2).join(' ');
  }
  const allowedBlob = publicKeyBlob(opts.authorizedKey);
  const allowed = ssh2.utils.parseKey(opts.authorizedKey);
  if (allowed instanceof Error) throw allowed;
  const allowedKey = Array.isArray(allowed) ? allowed[0]! : allowed;

  const sockets = new Set<Socket>();
  const children = new Set<ChildProcess>();
  const signalsReceived: string[] = [];
  const commandsReceived: string[] = [];
  const sshServer = new ssh2.Server({ hostKeys: [hostPrivateKey] }, (conn) => handleConnection(conn));

  const handleConnection = (conn: Connection) => {
    conn.on('error', () => {});
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || !ctx.key.data.equals(allowedBlob)) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (acceptSession) => {
        const session = acceptSession();
        // ssh2's Server rejects every request after the client's EOF (its `_ending` flag); sshd and dropbear
        // still take `signal` then. Clear the flag on EOF so this peer behaves like them.
        session.on('eof', () => {
          (session as unknown as { _ending: boolean })._ending = false;
        });
        const env: Record<string, string> = {};
        let child: ChildProcess | undefined;
        session.on('env', (accept, _reject, info) => {
          env[info.key] = info.val;
          accept?.();
        });
        session.on('signal', (accept, _reject, info) => {
          signalsReceived.push(info.name);
          child?.kill(`SIG${info.name}` as NodeJS.Signals);
          accept?.();
        });
        session.on('exec', (accept, _reject, info) => {
          commandsReceived.push(info.command);
          const channel = accept();
          const [shell = '/bin/sh', ...shellArgs] = opts.shell ?? [];
          child = spawn(shell, [...shellArgs, '-c', info.command], {
            cwd: opts.cwd,
            env: { PATH: opts.path ?? process.env.PATH ?? '/usr/bin:/bin', HOME: opts.cwd ?? '/', ...env },
            stdio: 'pipe',
            detached: true, // own process group, so close() can end whatever the command left running
          });
          wire(channel, child, true);
        });
        session.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'sftp' || opts.sftp === false || !existsSync(SFTP_SERVER_PATH)) return reject();
          const channel = accept();
          child = spawn(SFTP_SERVER_PATH, [], { cwd: opts.cwd, stdio: 'pipe' });
          wire(channel, child, false);
        });
      });
    });
  };

  /** Streams a child's stdio through a channel with backpressure and reports its exit. */
  const wire = (channel: ServerChannel, child: ChildProcess, reportExit: boolean) => {
    children.add(child);
    channel.on('error', () => {});
    child.stdin!.on('error', () => {});
    channel.pipe(child.stdin!);
    child.stdout!.pipe(channel, { end: false });
    child.stderr!.pipe(channel.stderr, { end: false });
    child.on('close', (code, signal) => {
      children.delete(child);
      try {
        if (reportExit) {
          if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
          else channel.exit(code ?? 0);
        }
        channel.end();
      } catch {
        // the client already closed the channel
      }
    });
    child.on('error', () => channel.close());
  };

  const tcp: NetServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    sshServer.injectSocket(socket);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, '127.0.0.1', () => resolve());
  });
  const address = tcp.address();
  if (!address || typeof address === 'string') throw new Error('test peer: no TCP address');

  return {
    host: '127.0.0.1',
    port: address.port,
    hostPublicKey,
    signalsReceived,
    commandsReceived,
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    freezeConnections() {
      for (const s of sockets) {
        s.pause();
        s.removeAllListeners('data');
      }
    },
    async close() {
      for (const c of children) {
        try {
          if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
        } catch {
          c.kill('SIGKILL'); // not a group leader (sftp-server)
        }
      }
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
