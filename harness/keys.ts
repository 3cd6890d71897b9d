// The per-project SSH keypair the harness logs in with. Generated on first use (ed25519, harness/ssh/keygen.ts),
// kept under .harness/keys (outside vms/), files 0600 and the folder 0700.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ssh2 from 'ssh2';
import { withFileLock } from './lock.js';
import { generateEd25519KeyPair } from './ssh/keygen.js';

export interface KeyPair {
  privateKeyPath: string;
  privateKey: string;
  /** OpenSSH public key line. */
  publicKey: string;
}

export async function projectKeyPair(keysDir: string): Promise<KeyPair> {
  const privateKeyPath = join(keysDir, 'id_ed25519');
  // Only the keys folder itself is private: parents created on the way keep the default mode, or .harness/ would
  // become 0700 and libvirt's qemu (another user) could no longer reach the image cache beside it.
  await mkdir(dirname(keysDir), { recursive: true });
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  await chmod(keysDir, 0o700);
  const existing = await readPair(privateKeyPath);
  if (existing) return existing;
  // Two runs starting at once must agree on one key: generate under a lock, re-check inside it.
  return withFileLock(keysDir, 'keys', async () => {
    const again = await readPair(privateKeyPath);
    if (again) return again;
    const pair = generateEd25519KeyPair('harness-project-key');
    await writeAtomic(`${privateKeyPath}.pub`, pair.public + '\n', 0o644);
    await writeAtomic(privateKeyPath, pair.private, 0o600);
    return { privateKeyPath, privateKey: pair.private, publicKey: pair.public.trim() };
  });
}

/** Loads a private key file the scenario named, and derives its public half. */
export async function keyPairFromFile(privateKeyPath: string): Promise<KeyPair> {
  const privateKey = await readFile(privateKeyPath, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`${privateKeyPath}: not a usable private key: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const publicKey = `${key.type} ${key.getPublicSSH().toString('base64')}`;
  return { privateKeyPath, privateKey, publicKey };
}

async function readPair(privateKeyPath: string): Promise<KeyPair | undefined> {
  try {
    const [privateKey, publicKey] = await Promise.all([readFile(privateKeyPath, 'utf8'), readFile(`${privateKeyPath}.pub`, 'utf8')]);
    return { privateKeyPath, privateKey, publicKey: publicKey.trim() };
  } catch {
    return undefined;
  }
}

async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
