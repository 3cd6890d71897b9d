// The NixOS image builder's public face (iso/index.ts dispatches `builder: nixos` here).
export { buildNixosImage, type NixosBuildOptions, type NixosBuildResult, type NixosImageConfig } from './build.js';
export { NixBuildError, NixBuildFailed, NixFlakesDisabled, NixNetworkUnavailable, NixSetupIncomplete } from './nix-errors.js';
export { generateNixosFiles, FLAKE_ISO_ATTR } from './nix-config.js';
export { readPublicKeyFile, checkAuthorizedKeys, type KeyLine } from './key-lines.js';
