// Host key helpers for pinning: the raw key blob of an OpenSSH public key line, and OpenSSH-style fingerprints.
import { createHash } from 'node:crypto';
import { validatePublicKey } from '../scenario/ssh-key-format.js';

/** The wire-format key blob (the base64 body decoded) of a "TYPE BASE64 [comment]" line; throws when malformed. */
export function publicKeyBlob(line: string): Buffer {
  const problem = validatePublicKey(line);
  if (problem) throw new Error(`expected ${problem}, found ${JSON.stringify(line.slice(0, 60))}`);
  return Buffer.from(line.trim().split(/\s+/)[1]!, 'base64');
}

/** "SHA256:<base64, no padding>" as `ssh-keygen -lf` prints it. */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A known_hosts line for a host and port, in OpenSSH's `[host]:port` form when the port is not 22. */
export function knownHostsLine(host: string, port: number, publicKeyLine: string): string {
  const [type, body] = publicKeyLine.trim().split(/\s+/);
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${type} ${body}`;
}
