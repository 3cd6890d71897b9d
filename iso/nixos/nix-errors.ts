// Typed failures of a nix build, recognised from what nix prints, so a user learns whether to enable flakes,
// find a network, or read the build log. Warnings (nix retries the binary cache and says so even on success)
// never decide the class: only what nix printed outside `warning:` lines does.
import { HarnessError, ProviderUnavailable } from '../../harness/errors.js';

/** How many lines of the build log a failure carries. */
export const LOG_TAIL_LINES = 30;

export const NIX_INSTALL_FIX =
  "apt-get install -y nix-bin (Debian/Ubuntu), or the upstream installer from https://nixos.org/download (sh <(curl -L https://nixos.org/nix/install) --daemon)";
export const NIXOS_GENERATE_FIX =
  "nix-env -iA nixpkgs.nixos-generators (or `nix profile install nixpkgs#nixos-generators`); or use mode: flake, which needs only nix";
export const FLAKES_FIX =
  "pass --extra-experimental-features 'nix-command flakes' to nix, or add `experimental-features = nix-command flakes` to /etc/nix/nix.conf";

export const BUILD_USERS_FIX =
  "apt-get install -y nix-setup-systemd (creates the nixbld group and build users nix expects when run as root), " +
  'or for single-user builds as root add `build-users-group =` to /etc/nix/nix.conf';

/** Base of every nix build failure: the command, its exit code and the last lines of its log. */
export class NixBuildError extends HarnessError {
  constructor(
    message: string,
    readonly command: string,
    readonly nixExitCode: number | undefined,
    readonly logTail: string[],
  ) {
    super(`${message}\n  command: ${command}\n--- last ${logTail.length} lines of the nix log ---\n${logTail.join('\n')}`);
  }
}

/** nix refused: the flakes / nix-command experimental features are off (and the flag did not help). */
export class NixFlakesDisabled extends NixBuildError {}
/** nix is installed but not set up: run as root it wants the nixbld build users, which nix-bin alone lacks. */
export class NixSetupIncomplete extends NixBuildError {}
/** nix had to download something (nixpkgs, binary cache) and could not reach it. */
export class NixNetworkUnavailable extends NixBuildError {}
/** The build ran and failed (evaluation error, a builder failed, no ISO in the output). */
export class NixBuildFailed extends NixBuildError {}

const FLAKES_RE = /experimental (Nix )?feature '(flakes|nix-command)' is disabled/;
const BUILD_USERS_RE = /the group '[^']+' specified in 'build-users-group' does not exist/;
const NETWORK_RE =
  /unable to download|Could not resolve host|Couldn't resolve host|Couldn't connect to server|Temporary failure in name resolution|Network is unreachable|unable to (fetch|access) .*(github|https?:)/i;

/** Turns a failed nix run (exit code + its stderr lines) into the matching typed error. */
export function classifyNixFailure(command: string, exitCode: number | undefined, lines: readonly string[]): NixBuildError {
  const tail = lines.slice(-LOG_TAIL_LINES);
  const significant = lines.filter((l) => !/^\s*warning:/.test(l));
  const flakes = significant.find((l) => FLAKES_RE.test(l));
  if (flakes) {
    return new NixFlakesDisabled(`nix refused the build: ${flakes.trim()}\n  fix: ${FLAKES_FIX}`, command, exitCode, tail);
  }
  const users = significant.find((l) => BUILD_USERS_RE.test(l));
  if (users) {
    return new NixSetupIncomplete(`nix is not set up for builds here: ${users.replace(/^\s*error:\s*/, '').trim()}\n  fix: ${BUILD_USERS_FIX}`, command, exitCode, tail);
  }
  const net = significant.find((l) => NETWORK_RE.test(l));
  if (net) {
    return new NixNetworkUnavailable(
      `the NixOS build needs the network (nixpkgs and the binary cache) and could not reach it: ${net.trim()}\n` +
        '  fix: build on a machine that reaches them, or pre-fill the nix store there and copy the closure here (nix copy)',
      command,
      exitCode,
      tail,
    );
  }
  return new NixBuildFailed(`nix build failed with exit code ${exitCode ?? 'unknown (killed)'}`, command, exitCode, tail);
}

export function nixMissing(cmd: string): ProviderUnavailable {
  return cmd === 'nix'
    ? new ProviderUnavailable('nixos image builder', '`nix` was not found on PATH', NIX_INSTALL_FIX)
    : new ProviderUnavailable('nixos image builder', `\`${cmd}\` (nixos-generators) was not found on PATH`, NIXOS_GENERATE_FIX);
}
