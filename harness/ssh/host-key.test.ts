import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { fingerprintSha256, knownHostsLine, publicKeyBlob } from './host-key.js';
import { generateEd25519KeyPair } from './keygen.js';

const run = promisify(execFile);

describe('host key helpers', () => {
  it('computes the same SHA256 fingerprint as ssh-keygen -lf', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'host-key-'));
    try {
      for (const type of ['ed25519', 'ecdsa'] as const) {
        const pub = type === 'ed25519' ? generateEd25519KeyPair().public : ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).public;
        await writeFile(join(dir, `k.pub`), pub + '\n');
        const { stdout } = await run('ssh-keygen', ['-lf', join(dir, 'k.pub')]);
        expect(stdout.split(' ')[1]).toBe(fingerprintSha256(publicKeyBlob(pub)));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a malformed key line, saying what was expected', () => {
    expect(() => publicKeyBlob('ssh-ed25519 not*base64')).toThrow(/expected a base64 key body/);
  });

  it('writes known_hosts names as OpenSSH does: [host]:port except on port 22', () => {
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ comment';
    expect(knownHostsLine('127.0.0.1', 2222, pub)).toBe('[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ');
    expect(knownHostsLine('10.0.0.5', 22, pub)).toBe('10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ');
  });
});
