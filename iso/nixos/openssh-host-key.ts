// A fresh ed25519 host key in OpenSSH's own format, for guests that run OpenSSH (NixOS, cloud images via
// cloud-init's ssh_keys). The harness pins the public half. This is the guest's key, never a user's key.
// (iso/host-key.ts makes the dropbear-format key of the tiny image; this is its OpenSSH sibling.)
import { generateEd25519KeyPair } from '../../harness/ssh/keygen.js';

export interface OpenSshHostKey {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----..." */
  privateKey: string;
  /** "ssh-ed25519 AAAA... comment" */
  publicKey: string;
}

export function generateOpenSshHostKey(comment = 'harness-host'): OpenSshHostKey {
  const pair = generateEd25519KeyPair(comment);
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}
