// SshTarget.lastCopyTransport against the in-process SSH test peer: SFTP when the server has the subsystem, the
// `cat`-over-exec fallback when it refuses it, and nothing before the first copy or after a failed one.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { itReal } from '../../fixtures/real-backend.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEd25519KeyPair } from '../ssh/keygen.js';
import { SFTP_SERVER_PATH, startTestPeer, type TestPeer } from '../ssh/test-peer.js';
import { SshTarget } from './ssh-target.js';

const clientKey = generateEd25519KeyPair();
let dir: string;
const peers: TestPeer[] = [];
const targets: SshTarget[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ssh-transport-'));
});
afterEach(async () => {
  for (const t of targets.splice(0)) await t.close().catch(() => {});
  for (const p of peers.splice(0)) await p.close();
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function open(sftp: boolean): Promise<SshTarget> {
  const peer = await startTestPeer({ authorizedKey: clientKey.public, sftp, cwd: dir });
  peers.push(peer);
  const target = await SshTarget.open('web', { host: peer.host, port: peer.port, user: 'root', privateKey: clientKey.private, hostPublicKey: peer.hostPublicKey });
  targets.push(target);
  return target;
}

describe('SshTarget.lastCopyTransport', () => {
  const noSftpServer = !existsSync(SFTP_SERVER_PATH) && `no ${SFTP_SERVER_PATH} (fix: apt-get install -y openssh-sftp-server)`;
  itReal('is sftp for both directions when the server has the sftp subsystem', noSftpServer, async () => {
    const target = await open(true);
    expect(target.lastCopyTransport).toBeUndefined();
    const data = randomBytes(10_000);
    await writeFile(join(dir, 'a.bin'), data);
    await target.copyTo(join(dir, 'a.bin'), join(dir, 'sftp/a.bin'));
    expect(target.lastCopyTransport).toBe('sftp');
    await target.copyFrom(join(dir, 'sftp/a.bin'), join(dir, 'sftp-back.bin'));
    expect(target.lastCopyTransport).toBe('sftp');
    expect((await readFile(join(dir, 'sftp-back.bin'))).equals(data)).toBe(true);
  });

  it('is exec when the server refuses the subsystem, and a failed copy leaves the last value', async () => {
    const target = await open(false);
    const data = randomBytes(10_000);
    await writeFile(join(dir, 'b.bin'), data);
    await target.copyTo(join(dir, 'b.bin'), join(dir, 'exec/b.bin'));
    expect(target.lastCopyTransport).toBe('exec');
    await target.copyFrom(join(dir, 'exec/b.bin'), join(dir, 'exec-back.bin'));
    expect(target.lastCopyTransport).toBe('exec');
    expect((await readFile(join(dir, 'exec-back.bin'))).equals(data)).toBe(true);
    await expect(target.copyFrom(join(dir, 'no-such-file'), join(dir, 'never.bin'))).rejects.toThrow(/not a readable file/);
    expect(target.lastCopyTransport).toBe('exec');
  });
});
