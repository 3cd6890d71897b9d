// The in-container port check reads /proc/net/tcp*; run the same shell line on this host against a real
// listening socket and a closed port, so a wrong hex encoding or state filter fails here.
import { createServer, type Server } from 'node:net';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { listeningCommand, toWaitStrategy } from './wait.js';

describe('container wait strategies', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('listeningCommand succeeds for a listening port and fails for a closed one', async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect((await execa('sh', ['-c', listeningCommand(port)], { reject: false })).exitCode).toBe(0);
    server.close();
    await new Promise((r) => setTimeout(r, 50));
    expect((await execa('sh', ['-c', listeningCommand(port)], { reject: false })).exitCode).not.toBe(0);
  });

  it('maps each wait form to the matching testcontainers strategy', () => {
    expect(toWaitStrategy(undefined, [])).toBeUndefined();
    expect(toWaitStrategy(undefined, [80])?.constructor.name).toBe('HostPortWaitStrategy');
    expect(toWaitStrategy({ port: 80 }, [])?.constructor.name).toBe('ShellWaitStrategy');
    expect(toWaitStrategy({ log: { kind: 'substring', text: 'up' }, times: 2 }, [])?.constructor.name).toBe('LogWaitStrategy');
    expect(toWaitStrategy({ http: { port: 80, path: '/', status: 204 } }, [80])?.constructor.name).toBe('HttpWaitStrategy');
    expect(toWaitStrategy({ exec: 'test -f /ready' }, [])?.constructor.name).toBe('ShellWaitStrategy');
  });
});
