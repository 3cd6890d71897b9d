// Generated Nix is checked by the real Nix parser and evaluator: files parse, and untrusted strings (key
// comments with quotes, ${, backslashes) come out of evaluation exactly as they went in.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFiles } from './build.js';
import { FLAKE_ISO_ATTR, generateNixosFiles, type NixosConfigInput } from './nix-config.js';
import { nixString } from './nix-string.js';
import { evalJson, parseError, privateKeySecret, realNixInstantiate, trickyUserKey } from './testing/nix-tools.js';
import { generateOpenSshHostKey } from './openssh-host-key.js';
import { nixpkgsSearchPath } from './nixpkgs-source.js';

let dir: string;
beforeAll(async () => {
  realNixInstantiate();
  dir = await mkdtemp(join(tmpdir(), 'nix-config-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('nixString', () => {
  it('round-trips arbitrary text through the real Nix evaluator', () => {
    const fixed = ['"', '\\', '${x}', '$${x}', '\\${x}', "''", "''${x}", '$', 'a\nb\r\tc', 'ünï €', ''];
    const random = fc.sample(fc.string({ unit: 'binary', maxLength: 20 }), { numRuns: 150, seed: 7 }).map((s) => s.replace(/\0/g, ''));
    const all = [...fixed, ...random];
    expect(evalJson(`[ ${all.map(nixString).join(' ')} ]`)).toEqual(all);
  });

  it('escapes ${ so it cannot start an interpolation', () => {
    // Unescaped, this would be evaluated: the result would be a number, not the text.
    expect(evalJson(nixString('${builtins.add 1 2}'))).toBe('${builtins.add 1 2}');
  });
});

describe('generateNixosFiles', () => {
  const user = trickyUserKey();
  const hostKey = generateOpenSshHostKey();
  const input = (mode: 'flake' | 'classic'): NixosConfigInput => ({
    mode,
    nixpkgs: { flake: 'github:NixOS/nixpkgs/nixos-24.05' },
    authorizedKeys: [user.publicKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGfakefakefakefakefakefakefakefakefakefakefake x'],
    hostKey,
    modules: [{ relPath: 'modules/00-inline.nix', content: '{ pkgs, ... }: { environment.systemPackages = [ pkgs.curl ]; }\n' }],
    hostName: 'web-1',
  });

  for (const mode of ['flake', 'classic'] as const) {
    it(`${mode}: every generated .nix file parses with nix-instantiate --parse`, async () => {
      const out = join(dir, mode);
      const files = generateNixosFiles(input(mode));
      await writeFiles(out, files);
      const nixFiles = files.filter((f) => f.relPath.endsWith('.nix'));
      expect(nixFiles.map((f) => f.relPath).sort()).toEqual(
        [mode === 'flake' ? 'flake.nix' : 'config.nix', 'harness.nix', 'modules/00-inline.nix'].sort(),
      );
      for (const f of nixFiles) expect(parseError(join(out, f.relPath)), f.relPath).toBeUndefined();
    });
  }

  it('harness.nix evaluates to exactly the keys, console and sshd settings', async () => {
    const out = join(dir, 'eval');
    await writeFiles(out, generateNixosFiles(input('classic')));
    const cfg = evalJson(
      `let m = import ${join(out, 'harness.nix')} { lib = { mkForce = x: { forced = x; }; }; }; in {
         keys = m.users.users.root.openssh.authorizedKeys.keys; params = m.boot.kernelParams;
         sshd = m.services.openssh.enable; wanted = m.systemd.services.sshd.wantedBy;
         hostKeys = m.services.openssh.hostKeys; mode = m.environment.etc."ssh/ssh_host_ed25519_key".mode;
         host = m.networking.hostName; }`,
    );
    expect(cfg).toEqual({
      keys: input('classic').authorizedKeys,
      params: ['console=ttyS0,115200'],
      sshd: true,
      wanted: { forced: ['multi-user.target'] },
      hostKeys: [{ path: '/etc/ssh/ssh_host_ed25519_key', type: 'ed25519' }],
      mode: '0600',
      host: 'web-1',
    });
  });

  it('flake.nix names the nixpkgs input, installation-cd-minimal and the ISO attribute', async () => {
    const out = join(dir, 'flake-eval');
    const files = generateNixosFiles({ ...input('flake'), nixpkgs: { channel: 'nixos-23.11' } });
    await writeFiles(out, files);
    expect(evalJson(`(import ${join(out, 'flake.nix')}).inputs.nixpkgs.url`)).toBe('github:NixOS/nixpkgs/nixos-23.11');
    const flake = files.find((f) => f.relPath === 'flake.nix')!.content;
    expect(flake).toContain('"${nixpkgs}/nixos/modules/installer/cd-dvd/installation-cd-minimal.nix"');
    expect(flake).toContain('./modules/00-inline.nix');
    expect(FLAKE_ISO_ATTR).toBe('nixosConfigurations.harness.config.system.build.isoImage');
  });

  // The user's private key is no input here, so no check of these files could find it: build.test.ts runs the
  // builder with the user's and the project's key pairs on disk beside its inputs and scans every output byte.
  it('puts the host private key in its own 0600 file and in no other generated file', () => {
    const files = generateNixosFiles(input('flake'));
    const hostFile = files.find((f) => f.relPath === 'ssh_host_ed25519_key')!;
    expect(hostFile.mode).toBe(0o600);
    expect(hostFile.content.trim()).toBe(hostKey.privateKey.trim());
    const secret = privateKeySecret(hostKey.privateKey);
    const holding = files.filter((f) => f.content.replace(/\s+/g, '').includes(secret)).map((f) => f.relPath);
    expect(holding).toEqual(['ssh_host_ed25519_key']);
  });
});

describe('nixpkgsSearchPath (classic mode)', () => {
  it('maps channels and GitHub flake refs, and rejects what classic mode cannot fetch', () => {
    expect(nixpkgsSearchPath({ channel: 'nixos-24.05' })).toBe('nixpkgs=channel:nixos-24.05');
    expect(nixpkgsSearchPath({ flake: 'github:NixOS/nixpkgs/nixos-24.05' })).toBe('nixpkgs=https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz');
    expect(() => nixpkgsSearchPath({ flake: 'git+ssh://example/x' }, 'scn.yaml')).toThrow(/scn\.yaml: image\.nixpkgs\.flake: expected for mode: classic/);
  });
});
