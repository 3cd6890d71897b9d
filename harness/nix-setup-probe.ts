// `doctor`'s check for the nixos builder: nix on PATH is not enough. Run as root, nix builds as the members of its
// build-users-group (nixbld); Debian's nix-bin ships without that group (nix-setup-systemd creates it), and every
// build then fails with "the group 'nixbld' specified in 'build-users-group' does not exist".
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { BUILD_USERS_FIX } from '../iso/nixos/nix-errors.js';
import type { ProbeResult } from './providers/provider.js';

export const NIX_PURPOSE = 'NixOS images (builder: nixos)';
export const NIX_BIN_FIX = 'apt-get install -y nix-bin';

export interface NixSetupProbeOptions {
  /** The nix binary; default `nix` on PATH. */
  nix?: string;
  /** Whether the harness runs as root; default process.getuid() === 0. */
  root?: boolean;
  /** Whether a group of this name exists; default `getent group`, else /etc/group. */
  groupExists?: (name: string) => Promise<boolean>;
}

export async function probeNixSetup(opts: NixSetupProbeOptions = {}): Promise<ProbeResult> {
  const { nix = 'nix', root = process.getuid?.() === 0, groupExists = systemGroupExists } = opts;
  const version = await execa(nix, ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (version.exitCode !== 0) {
    return { provider: 'nix', available: false, reason: `${NIX_PURPOSE}: not found`, fix: NIX_BIN_FIX };
  }
  const found = `${NIX_PURPOSE}: ${String(version.stdout).split('\n')[0]}`;
  // Not root: nix runs single-user (no build users) or talks to a daemon that was set up with them.
  if (!root) return { provider: 'nix', available: true, reason: found };
  const config = await execa(nix, ['--extra-experimental-features', 'nix-command', 'show-config'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (config.exitCode !== 0) {
    const why = String(config.stderr).trim().split('\n').pop() || `exit ${config.exitCode}`;
    return { provider: 'nix', available: true, reason: `${found} (build-users-group not checked: nix show-config failed: ${why})` };
  }
  const group = /^build-users-group = (.*)$/m.exec(String(config.stdout))?.[1]?.trim() ?? '';
  if (group === '') return { provider: 'nix', available: true, reason: `${found} (builds as root without build users)` };
  if (await groupExists(group)) return { provider: 'nix', available: true, reason: `${found} (build users: group ${group})` };
  return {
    provider: 'nix',
    available: false,
    reason: `${found}, but not set up for builds as root: build-users-group names the group '${group}', which does not exist`,
    fix: BUILD_USERS_FIX,
    details: { buildUsersGroup: group },
  };
}

async function systemGroupExists(name: string): Promise<boolean> {
  const r = await execa('getent', ['group', name], { reject: false, stdin: 'ignore' });
  if (r.exitCode === 0) return true;
  if (r.exitCode === 2) return false; // getent: key not found
  const etc = await readFile('/etc/group', 'utf8').catch(() => '');
  return etc.split('\n').some((l) => l.split(':')[0] === name);
}
