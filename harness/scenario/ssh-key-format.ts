// Checks an OpenSSH public key line: type, base64 body, and that the body names the same type (and curve).
// Messages are phrased as what was expected; the loader adds the position of the offending entry.

const ALLOWED = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/;
/** base64 of "openssh-key-v1", the start of an OpenSSH private key body. */
const PRIVATE_BODY = /^b3BlbnNzaC1rZXktdjE/;

/** Returns what is wrong with the key, or undefined when it is well-formed. */
export function validatePublicKey(line: string): string | undefined {
  if (/PRIVATE KEY|PuTTY-User-Key-File/.test(line) || PRIVATE_BODY.test(line.trim())) {
    return 'a public key (this looks like a private key; never put private keys in a scenario)';
  }
  const lines = line.trim().split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length > 1) return `one public key per list entry (found ${lines.length} lines)`;
  const parts = line.trim().split(/\s+/);
  const [type, body] = parts;
  if (!type || !body) return 'an OpenSSH public key line "TYPE BASE64 [comment]"';
  if (!ALLOWED.test(type)) return `a key of type ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521 (got type "${type.slice(0, 40)}")`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return 'a base64 key body';
  const raw = Buffer.from(body, 'base64');
  const inner = readString(raw, 0);
  if (!inner) return 'a base64 key body long enough to hold a key';
  if (inner.text !== type) return `a key body that encodes its own type "${type}" (it encodes "${inner.text.slice(0, 40)}")`;
  if (type === 'ssh-ed25519' && raw.length !== 51) return `an ed25519 key body of 51 bytes (found ${raw.length}; is the key cut short?)`;
  if (type.startsWith('ecdsa-')) {
    const curve = readString(raw, inner.next);
    if (!curve || curve.text !== type.slice('ecdsa-sha2-'.length)) return `an ${type} key body naming the curve ${type.slice('ecdsa-sha2-'.length)}`;
  }
  if (type === 'ssh-rsa') {
    const e = readString(raw, inner.next);
    const n = e && readString(raw, e.next);
    if (!n) return 'an ssh-rsa key body with an exponent and a modulus (is the key cut short?)';
    const bits = (n.length - (raw[n.next - n.length] === 0 ? 1 : 0)) * 8;
    if (bits < 2048) return `an RSA key of at least 2048 bits (found ${bits})`;
  }
  return undefined;
}

/** An SSH wire-format string (uint32 length + bytes) at `offset`. */
function readString(raw: Buffer, offset: number): { text: string; length: number; next: number } | undefined {
  if (raw.length < offset + 4) return undefined;
  const n = raw.readUInt32BE(offset);
  if (raw.length < offset + 4 + n) return undefined;
  return { text: raw.subarray(offset + 4, offset + 4 + n).toString('latin1'), length: n, next: offset + 4 + n };
}
