// Test helper: finds an OpenSSH ed25519 private key in files, in whatever form a builder might have copied it:
// the key file's base64 body (however it was re-wrapped), the whole file base64-encoded (cloud-init's
// `encoding: b64`), or the raw 32-byte secret seed and its hex (a converted key, e.g. dropbear's format).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface SecretKey {
  /** Names the key in failures ("user key", "project key"). */
  label: string;
  /** The OpenSSH private key file's text. */
  privateKey: string;
}

interface Needle {
  what: string;
  bytes: Buffer;
  /** Match against the file with whitespace and escaped line breaks removed (base64 wrapped and indented, as in YAML or JSON). */
  unwrapped: boolean;
}

/** The 32-byte seed inside an unencrypted "openssh-key-v1" ed25519 private key file. */
export function ed25519Seed(privateKey: string): Buffer {
  const body = Buffer.from(privateKey.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key file');
  let at = magic.length;
  const str = () => {
    const n = body.readUInt32BE(at);
    const s = body.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  const cipher = str().toString();
  if (cipher !== 'none') throw new Error(`an encrypted key (${cipher}): no seed to look for`);
  str(); // kdf name
  str(); // kdf options
  at += 4; // number of keys (1)
  str(); // public key blob
  const priv = str();
  let p = 8; // two check integers
  const pstr = () => {
    const n = priv.readUInt32BE(p);
    const s = priv.subarray(p + 4, p + 4 + n);
    p += 4 + n;
    return s;
  };
  if (pstr().toString() !== 'ssh-ed25519') throw new Error('not an ed25519 key');
  pstr(); // public key
  return Buffer.from(pstr().subarray(0, 32)); // private: seed || public
}

function needles(key: SecretKey): Needle[] {
  const body = key.privateKey.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const seed = ed25519Seed(key.privateKey);
  const wholeB64 = Buffer.from(key.privateKey).toString('base64');
  return [
    // The tail of the body carries the secret section (the start is the same header in every key file).
    { what: 'the key file body (base64)', bytes: Buffer.from(body.slice(-120, -40)), unwrapped: true },
    { what: 'the whole key file, base64-encoded', bytes: Buffer.from(wholeB64.slice(-160, -40)), unwrapped: true },
    { what: 'the raw secret seed', bytes: seed, unwrapped: false },
    { what: 'the secret seed in hex', bytes: Buffer.from(seed.toString('hex')), unwrapped: true },
  ];
}

/** Every regular file under `roots` (roots may be files), symlinks not followed. */
async function filesUnder(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) for (const e of await readdir(p)) await visit(join(p, e));
    else if (st.isFile()) out.push(p);
  };
  for (const r of roots) await visit(r);
  return out;
}

/**
 * Where any of `keys` occurs in any byte of any file under `roots`: one "file: label (form)" line per finding.
 * Also returns how many files and bytes were read, so a test can show the scan covered something.
 */
export async function findPrivateKeys(roots: readonly string[], keys: readonly SecretKey[]): Promise<{ findings: string[]; files: number; bytes: number }> {
  const all = keys.flatMap((k) => needles(k).map((n) => ({ ...n, label: k.label })));
  const findings: string[] = [];
  let bytes = 0;
  const files = await filesUnder(roots);
  for (const f of files) {
    const raw = await readFile(f);
    bytes += raw.length;
    const unwrapped = Buffer.from(raw.toString('latin1').replace(/\s+|\\[nr]/g, ''), 'latin1');
    for (const n of all) if ((n.unwrapped ? unwrapped : raw).includes(n.bytes)) findings.push(`${f}: ${n.label} (${n.what})`);
  }
  return { findings, files: files.length, bytes };
}
