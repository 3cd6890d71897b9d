// Checks and normalises the public keys an image will authorise. A private key handed in by mistake is
// refused loudly: it must never be written into an image.
import { createHash } from 'node:crypto';
import { ScenarioError } from '../harness/errors.js';

const PUBLIC_KEY_RE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

/** Trimmed, de-duplicated and sorted (sorting keeps the cache key independent of the order given). */
export function normalizeAuthorizedKeys(keys: string[], source = 'authorizedKeys'): string[] {
  const out = new Set<string>();
  keys.forEach((raw, i) => {
    const k = raw.trim();
    const found = /PRIVATE KEY/.test(k) ? 'a PRIVATE key (refused: private keys never go into images)' : JSON.stringify(k.slice(0, 40) + (k.length > 40 ? '...' : ''));
    if (/PRIVATE KEY/.test(k) || k.includes('\n') || !PUBLIC_KEY_RE.test(k)) {
      throw new ScenarioError([{ file: source, path: `authorizedKeys[${i}]`, expected: 'one OpenSSH public key line such as "ssh-ed25519 AAAA... comment"', found }]);
    }
    out.add(k);
  });
  if (out.size === 0) {
    throw new ScenarioError([{ file: source, path: 'authorizedKeys', expected: 'at least one public key (else nobody can log in)', found: 'none' }]);
  }
  return [...out].sort();
}

/** "SHA256:..." as ssh-keygen -l prints it: safe to show in metadata and logs. */
export function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
