// ed25519 key pairs in OpenSSH's formats, made from node:crypto.
//
// Why not ssh2.utils.generateKeyPairSync('ed25519'): it strips leading zero bytes from the 32-byte public key
// (mscdex/ssh2#1513, #1390, open), so about 1 key in 256 comes out 31 bytes long. ssh2 then refuses its own
// private key ("Malformed OpenSSH private key") and a pinned host key never matches what the guest presents.
// Writing the two formats ourselves is short and exact (PROTOCOL.key in OpenSSH, RFC 8709 for the blob).
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

export interface OpenSshKeyPair {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----\n", unencrypted. */
  private: string;
  /** "ssh-ed25519 AAAA... comment" (no comment part when the comment is empty), no trailing newline. */
  public: string;
}

const KEY_TYPE = 'ssh-ed25519';
// PKCS#8 wrapping of a raw 32-byte ed25519 seed (RFC 8410): lets node:crypto derive the public half.
const PKCS8_SEED_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function generateEd25519KeyPair(comment = ''): OpenSshKeyPair {
  return ed25519KeyPairFromSeed(randomBytes(32), comment);
}

/** Deterministic from the seed; exported so tests can pin keys whose public half starts with zero bytes. */
export function ed25519KeyPairFromSeed(seed: Buffer, comment = ''): OpenSshKeyPair {
  if (seed.length !== 32) throw new Error(`ed25519 seed must be 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const pub = Buffer.from(jwk.x!, 'base64url');
  const blob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  return {
    private: armour(privateFile(blob, pub, seed, comment)),
    public: [KEY_TYPE, blob.toString('base64'), comment].filter(Boolean).join(' '),
  };
}

function privateFile(blob: Buffer, pub: Buffer, seed: Buffer, comment: string): Buffer {
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Unencrypted keys are padded to the "none" cipher's 8-byte block with 1, 2, 3, ...
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  return Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(blob),
    sshString(section),
  ]);
}

function armour(body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n');
}

function sshString(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([uint32(bytes.length), bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
