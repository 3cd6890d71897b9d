// A fresh SSH host key per image: generated here (ed25519, harness/ssh/keygen.ts), converted to dropbear's format
// for the guest, and its public line handed back so the harness pins it. The OpenSSH-format private file only
// exists for the conversion and is deleted right after. User private keys never come near an image.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from './tools.js';
import { generateEd25519KeyPair } from '../harness/ssh/keygen.js';

export interface HostKey {
  /** "ssh-ed25519 AAAA... comment", for pinning. */
  publicKey: string;
  /** The private key in dropbear's own format, to put at /etc/dropbear/dropbear_ed25519_host_key. */
  dropbearPrivate: Buffer;
}

export interface ConvertTool {
  /** dropbearconvert to run: the one extracted from dropbear-bin (with its libraries), else the host's. */
  path: string;
  env?: NodeJS.ProcessEnv;
}

/** `workDir` must be private to this build (the image temp dir); nothing is left in it. */
export async function generateDropbearHostKey(
  workDir: string,
  comment = 'harness-tiny-host',
  opts: { tool?: ConvertTool; signal?: AbortSignal } = {},
): Promise<HostKey> {
  const tool = opts.tool ?? { path: 'dropbearconvert' };
  const pair = generateEd25519KeyPair(comment);
  const tmp = await mkdtemp(join(workDir, 'hostkey-'));
  try {
    await chmod(tmp, 0o700);
    const openssh = join(tmp, 'openssh');
    const dropbear = join(tmp, 'dropbear');
    await writeFile(openssh, pair.private, { mode: 0o600 });
    await runTool('tiny image builder', tool.path, ['openssh', 'dropbear', openssh, dropbear], { signal: opts.signal, env: tool.env });
    return { publicKey: pair.public.trim(), dropbearPrivate: await readFile(dropbear) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
