// For the real libvirt tests: log in to a booting domain with the pinned host key and run one command, retrying
// until SSH answers (the domain must stay alive meanwhile). Returns the command's stdout; a non-zero exit rejects.
import type ssh2 from 'ssh2';
import { retryUntil } from '../../../retry.js';
import { connectSsh } from '../../../ssh/connect.js';
import type { LibvirtStartedMachine } from '../../libvirt.js';
import { sshBanner } from '../../ssh-probe.js';

export interface Login {
  user: string;
  privateKey: string;
  hostPublicKey: string | undefined;
}

export async function sshRun(m: LibvirtStartedMachine, login: Login, command: string, timeoutMs: number): Promise<string> {
  return retryUntil(
    async () => {
      if (!(await m.isAlive())) throw new Error(`domain ${m.domain} is not running`);
      if (!(await sshBanner(m.sshPort, '127.0.0.1', 1000))) return undefined;
      const s = await connectSsh({ host: m.sshHost, port: m.sshPort, user: login.user, privateKey: login.privateKey, hostPublicKey: login.hostPublicKey, readyTimeoutMs: 15_000 });
      try {
        return await exec(s.client, command);
      } finally {
        await s.close();
      }
    },
    { timeoutMs, intervalMs: 300 },
  );
}

function exec(client: ssh2.Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      let out = '';
      ch.on('data', (d: Buffer) => (out += d.toString()));
      ch.stderr.on('data', () => undefined);
      ch.on('close', (code: number | null) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}`))));
    });
  });
}
