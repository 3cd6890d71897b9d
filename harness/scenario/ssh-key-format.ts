// Checks an OpenSSH public key line: type, base64 body, and that the body names the same type.

const ALLOWED = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;

/** Returns what is wrong with the key, or undefined when it is well-formed. */
export function validatePublicKey(line: string): string | undefined {
  const parts = line.trim().split(/\s+/);
  const [type, body] = parts;
  if (!type || !body) return 'an OpenSSH public key line "TYPE BASE64 [comment]"';
  if (/PRIVATE KEY/.test(line)) return 'a public key (this looks like a private key; never put private keys in a scenario)';
  if (!ALLOWED.test(type)) return `a key of type ssh-ed25519, ssh-rsa or ecdsa-sha2-* (got type "${type.slice(0, 40)}")`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return 'a base64 key body';
  const raw = Buffer.from(body, 'base64');
  if (raw.length < 4) return 'a base64 key body long enough to hold a key';
  const n = raw.readUInt32BE(0);
  const inner = raw.subarray(4, 4 + n).toString('latin1');
  if (inner !== type) return `a key body that encodes its own type "${type}" (it encodes "${inner.slice(0, 40)}")`;
  if (type === 'ssh-ed25519' && raw.length !== 51) return 'an ed25519 key body of 51 bytes';
  return undefined;
}
