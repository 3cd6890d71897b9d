// probeNixSetup against stand-in `nix` scripts (labelled, in a temp dir) printing what Debian's nix 2.8 prints,
// so every branch runs whatever this host has installed. The real nix is checked by doctor.test.ts.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_USERS_FIX } from '../iso/nixos/nix-errors.js';
import { NIX_BIN_FIX, probeNixSetup } from './nix-setup-probe.js';

let dir: string;

/** A stand-in nix: `--version` answers like nix 2.8; `show-config` prints the given build-users-group line. */
async function fakeNix(name: string, showConfig: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    [
      '#!/bin/sh',
      '# STAND-IN for nix, written by harness/nix-setup-probe.test.ts.',
      'if [ "$1" = --version ]; then echo "nix (Nix) 2.8.0"; exit 0; fi',
      'if [ "$*" = "--extra-experimental-features nix-command show-config" ]; then',
      showConfig,
      'fi',
      'echo "stand-in nix: unexpected arguments: $*" >&2; exit 64',
      '',
    ].join('\n'),
  );
  await chmod(path, 0o755);
  return path;
}

const config = (group: string) => `printf 'allowed-users = *\\nauto-optimise-store = false\\nbuild-users-group = ${group}\\ncores = 0\\n'; exit 0`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nix-setup-probe-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeNixSetup', () => {
  it('as root, a build-users-group that names a missing group: not ready, with the fix', async () => {
    const nix = await fakeNix('nix-missing-group', config('harness-test-no-such-group'));
    const r = await probeNixSetup({ nix, root: true });
    expect(r).toEqual({
      provider: 'nix',
      available: false,
      reason:
        "NixOS images (builder: nixos): nix (Nix) 2.8.0, but not set up for builds as root: build-users-group names the group 'harness-test-no-such-group', which does not exist",
      fix: BUILD_USERS_FIX,
      details: { buildUsersGroup: 'harness-test-no-such-group' },
    });
    expect(r.fix).toMatch(/^apt-get install -y nix-setup-systemd /);
  });

  it('as root, a group that exists (root is in every /etc/group), or no build users at all: ready', async () => {
    expect(await probeNixSetup({ nix: await fakeNix('nix-root-group', config('root')), root: true })).toEqual({
      provider: 'nix',
      available: true,
      reason: 'NixOS images (builder: nixos): nix (Nix) 2.8.0 (build users: group root)',
    });
    const none = await probeNixSetup({ nix: await fakeNix('nix-no-group', config('')), root: true });
    expect(none).toMatchObject({ available: true, reason: expect.stringContaining('builds as root without build users') });
  });

  it('not root: the build users are not its business (single-user nix or a daemon)', async () => {
    const nix = await fakeNix('nix-missing-group-user', config('harness-test-no-such-group'));
    expect(await probeNixSetup({ nix, root: false })).toEqual({ provider: 'nix', available: true, reason: 'NixOS images (builder: nixos): nix (Nix) 2.8.0' });
  });

  it('nix missing: the install command; show-config failing: still usable, saying the check was skipped', async () => {
    expect(await probeNixSetup({ nix: join(dir, 'no-such-nix'), root: true })).toEqual({
      provider: 'nix',
      available: false,
      reason: 'NixOS images (builder: nixos): not found',
      fix: NIX_BIN_FIX,
    });
    const broken = await fakeNix('nix-broken-config', "echo \"error: unrecognised flag '--extra-experimental-features'\" >&2; exit 1");
    expect(await probeNixSetup({ nix: broken, root: true })).toMatchObject({
      available: true,
      reason: expect.stringContaining("build-users-group not checked: nix show-config failed: error: unrecognised flag '--extra-experimental-features'"),
    });
  });

  it('the group lookup is the injected one', async () => {
    const nix = await fakeNix('nix-nixbld', config('nixbld'));
    expect((await probeNixSetup({ nix, root: true, groupExists: async (g) => g === 'nixbld' })).available).toBe(true);
    expect((await probeNixSetup({ nix, root: true, groupExists: async () => false })).available).toBe(false);
  });
});
