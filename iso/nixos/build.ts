// The NixOS image builder: scenario image config + authorised keys -> a bootable ISO in the image cache.
// Generates the Nix files, keys the cache on them (the same inputs never rebuild), runs nix in flake or
// classic mode, and copies the ISO out of the nix store into the cache entry.
import { createHash } from 'node:crypto';
import { copyFile, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fingerprint } from '../authorized-keys.js';
import { cacheKey, getOrBuild } from '../cache.js';
import { checkAuthorizedKeys } from './key-lines.js';
import type { BuiltImage, GuestImageBuildOptions } from '../types.js';
import { findIso } from './find-iso.js';
import { FLAKE_ISO_ATTR, generateNixosFiles, HOST_KEY_FILE, SYSTEM, type GeneratedFile, type NixosMode } from './nix-config.js';
import { nixFlakeBuild, nixosGenerate } from './nix-run.js';
import { nixpkgsFlakeUrl, nixpkgsSearchPath, type NixpkgsConfig } from './nixpkgs-source.js';
import { resolveModules } from './modules.js';
import { generateOpenSshHostKey } from './openssh-host-key.js';
import { sourceFileOf, withImageSource } from '../image-source.js';

/** Bump when the generated Nix changes meaning, so old cache entries are not reused. */
const GENERATOR_VERSION = 1;

export interface NixosImageConfig {
  modules: string[];
  nixpkgs: NixpkgsConfig;
  mode: NixosMode;
}

export interface NixosBuildOptions extends GuestImageBuildOptions {
  image: NixosImageConfig;
  /** Extra arguments for `nix build` / `nixos-generate` (e.g. --offline). */
  nixArgs?: string[];
  /** Parent of the temporary build folder (default: the OS temp dir). */
  workDir?: string;
}

export interface NixosBuildResult extends BuiltImage {
  /** True when the cache already held this image. */
  reused: boolean;
}

export async function buildNixosImage(opts: NixosBuildOptions): Promise<NixosBuildResult> {
  // Errors about the image config name the scenario file, line and field (vms.<vm>.image.modules[0]).
  return withImageSource(opts.source, () => build(opts));
}

// The hostname stays opts.hostName (default "harness"), not the VM name: it is baked into the ISO, so naming
// each VM would cost one nix build per VM for otherwise identical images.
async function build(opts: NixosBuildOptions): Promise<NixosBuildResult> {
  const file = sourceFileOf(opts);
  // Sorted and de-duplicated: the order keys were given in must not change the cache key.
  const keys = [...new Set(checkAuthorizedKeys(opts.authorizedKeys, file))].sort();
  const modules = await resolveModules(opts.image.modules, opts.baseDir ?? process.cwd(), file);
  const searchPath = opts.image.mode === 'classic' ? nixpkgsSearchPath(opts.image.nixpkgs, file) : undefined;
  // The host key is made fresh inside the build; the key covers everything else, so hashing a placeholder is exact.
  const placeholder = { privateKey: '', publicKey: '' };
  const base = { mode: opts.image.mode, nixpkgs: opts.image.nixpkgs, authorizedKeys: keys, modules, hostName: opts.hostName };
  const files = generateNixosFiles({ ...base, hostKey: placeholder });
  const key = cacheKey({
    builder: 'nixos',
    version: GENERATOR_VERSION,
    system: SYSTEM,
    nixpkgs: opts.image.mode === 'flake' ? nixpkgsFlakeUrl(opts.image.nixpkgs) : searchPath,
    files: files.filter((f) => !f.relPath.startsWith(HOST_KEY_FILE)).map((f) => [f.relPath, sha256(f.content)]),
  });

  const entry = await getOrBuild(opts.cacheDir, key, async (entryDir) => {
    const hostKey = generateOpenSshHostKey('harness-nixos-host');
    const buildDir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'harness-nixos-'));
    try {
      await writeFiles(buildDir, generateNixosFiles({ ...base, hostKey }));
      const outLink = join(buildDir, 'result');
      const run = { cwd: buildDir, env: opts.env, onProgress: opts.onProgress, signal: opts.signal, extraArgs: opts.nixArgs };
      const out =
        opts.image.mode === 'flake'
          ? await nixFlakeBuild(buildDir, FLAKE_ISO_ATTR, outLink, run)
          : await nixosGenerate(join(buildDir, 'config.nix'), searchPath!, outLink, run);
      const iso = await findIso(out, opts.image.mode === 'flake' ? 'nix build' : 'nixos-generate');
      await copyFile(iso, join(entryDir, 'nixos.iso'));
      await chmod(join(entryDir, 'nixos.iso'), 0o644); // the store copy is read-only
      return {
        builder: 'nixos',
        artifact: 'nixos.iso',
        hostPublicKey: hostKey.publicKey,
        inputs: { mode: opts.image.mode, nixpkgs: opts.image.nixpkgs, modules: modules.map((m) => m.relPath), authorizedKeys: keys.map(fingerprint) },
      };
    } finally {
      // Removes the generated files, the host private key copy and the out-link (the store path becomes collectable).
      await rm(buildDir, { recursive: true, force: true });
    }
  });
  return {
    kind: 'iso',
    path: entry.path,
    hostPublicKey: entry.meta.hostPublicKey,
    user: 'root',
    builder: 'nixos',
    cacheKey: entry.key,
    reused: entry.reused,
  };
}

/** Writes generated files into `dir` with their modes (the host private key 0600). */
export async function writeFiles(dir: string, files: readonly GeneratedFile[]): Promise<void> {
  for (const f of files) {
    const p = join(dir, f.relPath);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, f.content, { mode: f.mode });
    await chmod(p, f.mode);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
