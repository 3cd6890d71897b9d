import { describe, expect, it } from 'vitest';
import ssh2 from 'ssh2';
import { validatePublicKey } from './ssh-key-format.js';
import { generateEd25519KeyPair } from '../ssh/keygen.js';

// Real keys, generated fresh: the validator must accept what ssh-keygen-compatible tools write.
// ed25519 through our own generator: ssh2's drops a leading zero byte from 1 key in 256 (see harness/ssh/keygen.ts).
const gen = (type: 'ed25519' | 'rsa' | 'ecdsa', bits?: number) =>
  type === 'ed25519'
    ? generateEd25519KeyPair('dev@laptop')
    : ssh2.utils.generateKeyPairSync(type as 'rsa', { ...(bits ? { bits } : {}), comment: 'dev@laptop' } as never);

describe('validatePublicKey', () => {
  it.each([
    ['ed25519', undefined],
    ['rsa', 2048],
    ['ecdsa', 256],
    ['ecdsa', 384],
    ['ecdsa', 521],
  ] as const)('accepts a real %s key (%s bits)', (type, bits) => {
    const k = gen(type, bits);
    expect(validatePublicKey(k.public)).toBeUndefined();
    expect(validatePublicKey(k.public.split(' ').slice(0, 2).join(' '))).toBeUndefined(); // no comment
  });

  it('refuses a private key pasted in, without echoing it', () => {
    const k = gen('ed25519');
    const msg = validatePublicKey(k.private);
    expect(msg).toMatch(/looks like a private key/);
    expect(msg).not.toContain(k.private.split('\n')[1]!.slice(0, 20));
    // The body alone, without the BEGIN line, is caught too.
    expect(validatePublicKey(k.private.split('\n').slice(1, -2).join(''))).toMatch(/private key/);
  });

  it('refuses other key types (ssh-dss) and names the type found', () => {
    expect(validatePublicKey('ssh-dss AAAAB3NzaC1kc3MAAACBAP== me')).toMatch(/ssh-ed25519, ssh-rsa or ecdsa.*got type "ssh-dss"/);
  });

  it('refuses a body that encodes another type', () => {
    const ed = gen('ed25519').public.split(' ');
    expect(validatePublicKey(`ssh-rsa ${ed[1]}`)).toMatch(/encodes its own type "ssh-rsa" \(it encodes "ssh-ed25519"\)/);
  });

  it('refuses a truncated ed25519 key', () => {
    const [t, b] = gen('ed25519').public.split(' ');
    expect(validatePublicKey(`${t} ${b!.slice(0, 40)}`)).toMatch(/51 bytes|base64/);
  });

  it('refuses an ecdsa key whose curve does not match its type', () => {
    const body = gen('ecdsa', 256).public.split(' ')[1]!;
    const raw = Buffer.from(body, 'base64');
    // Rewrite the outer type to nistp384 while the body still names nistp256.
    const type = Buffer.from('ecdsa-sha2-nistp384');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(type.length);
    const forged = Buffer.concat([len, type, raw.subarray(4 + raw.readUInt32BE(0))]).toString('base64');
    expect(validatePublicKey(`ecdsa-sha2-nistp384 ${forged}`)).toMatch(/curve nistp384/);
  });

  it('refuses a 1024-bit RSA key', () => {
    expect(validatePublicKey(gen('rsa', 1024).public)).toMatch(/at least 2048 bits \(found 1024\)/);
  });

  it('refuses two keys in one entry, bad base64 and a missing body', () => {
    const a = gen('ed25519').public;
    expect(validatePublicKey(`${a}\n${a}`)).toMatch(/one public key per list entry \(found 2 lines\)/);
    expect(validatePublicKey('ssh-ed25519 not*base64')).toMatch(/base64/);
    expect(validatePublicKey('ssh-ed25519')).toMatch(/TYPE BASE64/);
  });
});
