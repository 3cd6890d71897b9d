// Does an SSH server answer on this port? Reads the "SSH-2.0-..." banner. Under qemu user-mode networking the
// forwarded port accepts TCP even while the guest is down (qemu listens), so "port open" proves nothing:
// only the banner does.
import { createConnection } from 'node:net';

export function sshBanner(port: number, host = '127.0.0.1', timeoutMs = 1500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    let buf = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const line = buf.split('\r\n')[0] ?? '';
      if (buf.includes('\n')) done(line.startsWith('SSH-') ? line.trim() : undefined);
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}
