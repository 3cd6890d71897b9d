// Listening TCP sockets as the kernel reports them (/proc/net/tcp and tcp6): what address a port really binds,
// independent of what any tool says it asked for.
import { readFile } from 'node:fs/promises';

export interface Listener {
  family: 4 | 6;
  /** Dotted IPv4 or full hex IPv6 local address. */
  address: string;
  port: number;
  inode: number;
}

/** Every socket in LISTEN state (st = 0A), optionally only those on `port`. */
export async function listeners(port?: number): Promise<Listener[]> {
  const out: Listener[] = [];
  for (const [file, family] of [['/proc/net/tcp', 4], ['/proc/net/tcp6', 6]] as const) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      const [hexAddr, hexPort] = f[1]!.split(':') as [string, string];
      const p = parseInt(hexPort, 16);
      if (port !== undefined && p !== port) continue;
      out.push({ family, address: family === 4 ? ipv4(hexAddr) : hexAddr, port: p, inode: Number(f[9]) });
    }
  }
  return out;
}

/** /proc/net/tcp stores the IPv4 address as a little-endian hex word: 0100007F is 127.0.0.1. */
function ipv4(hex: string): string {
  const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16));
  return bytes.reverse().join('.');
}
