// Failure classification against real nix 2.8 output (testing/samples), so the stand-in is not the only judge.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classifyNixFailure, NixBuildFailed, NixFlakesDisabled, NixNetworkUnavailable, NixSetupIncomplete } from './nix-errors.js';

const sample = (name: string) => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'testing', 'samples', name), 'utf8').split('\n');

describe('classifyNixFailure on real nix output', () => {
  it.each([
    ['nix-2.8-flakes-disabled.stderr', NixFlakesDisabled],
    ['nix-2.8-nix-command-disabled.stderr', NixFlakesDisabled],
    ['nix-2.8-network-failure.stderr', NixNetworkUnavailable],
    ['nix-2.8-builder-failed.stderr', NixBuildFailed],
    ['nix-2.8-no-build-users-group.stderr', NixSetupIncomplete],
  ])('%s', (name, cls) => {
    const err = classifyNixFailure('nix build', 1, sample(name));
    expect(err).toBeInstanceOf(cls);
    expect(err.constructor).toBe(cls);
  });

  it('nix-bin without its build users names the package that creates them', () => {
    const err = classifyNixFailure('nix build', 1, sample('nix-2.8-no-build-users-group.stderr'));
    expect(err.message).toMatch(/^nix is not set up for builds here: the group 'nixbld' specified in 'build-users-group' does not exist\n  fix: apt-get install -y nix-setup-systemd/);
  });

  it('binary-cache warnings alone never make a failure a network failure', () => {
    const lines = [...sample('nix-2.8-success-offline-cache-warnings.stderr'), "error: attribute 'isoImage' missing"];
    expect(classifyNixFailure('nix build', 1, lines)).toBeInstanceOf(NixBuildFailed);
  });

  it('a download failing inside a builder (curl in a fetcher) is a network failure', () => {
    const lines = ['source.tar.gz> curl: (6) Could not resolve host: github.com', "error: builder for '/nix/store/x-source.drv' failed with exit code 1"];
    expect(classifyNixFailure('nix build', 1, lines)).toBeInstanceOf(NixNetworkUnavailable);
  });

  it('keeps the last 30 lines and names the command', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`);
    const err = classifyNixFailure('nix build path:/x#y', 1, lines);
    expect(err.logTail).toEqual(lines.slice(20));
    expect(err.message).toMatch(/exit code 1\n {2}command: nix build path:\/x#y\n--- last 30 lines of the nix log ---\nline 21\n/);
  });
});
