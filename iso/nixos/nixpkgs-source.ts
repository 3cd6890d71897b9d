// Where nixpkgs comes from, in the form each build mode needs: a flake input URL (flake mode) or a
// `-I nixpkgs=...` search-path entry (classic mode, nixos-generate). The scenario may give either form.
import { ScenarioError } from '../../harness/errors.js';

export type NixpkgsConfig = { flake: string } | { channel: string };

/** The flake input URL for nixpkgs: a flake ref as given, or a channel name mapped to its GitHub branch. */
export function nixpkgsFlakeUrl(src: NixpkgsConfig): string {
  if ('flake' in src) return src.flake;
  if (src.channel.includes('://')) return src.channel;
  return `github:NixOS/nixpkgs/${src.channel}`;
}

/** The `nixpkgs=...` search-path entry nixos-generate gets with `-I`. */
export function nixpkgsSearchPath(src: NixpkgsConfig, file = '(image config)'): string {
  if ('channel' in src) {
    const c = src.channel;
    return c.includes('://') || c.startsWith('/') ? `nixpkgs=${c}` : `nixpkgs=channel:${c}`;
  }
  // Classic mode has no flake inputs: a GitHub flake ref becomes the matching tarball URL.
  const m = /^github:([\w.-]+)\/([\w.-]+)(?:\/([\w./-]+))?$/.exec(src.flake);
  if (m) return `nixpkgs=https://github.com/${m[1]}/${m[2]}/archive/${m[3] ?? 'master'}.tar.gz`;
  if (/^https?:\/\/.+\.tar\.(gz|xz|bz2)$/.test(src.flake)) return `nixpkgs=${src.flake}`;
  throw new ScenarioError([
    {
      file,
      path: 'image.nixpkgs.flake',
      expected: 'for mode: classic, nixpkgs.channel or a github:OWNER/REPO/REF or tarball URL flake ref',
      found: JSON.stringify(src.flake),
    },
  ]);
}
