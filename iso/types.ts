// What every image builder takes and returns; builders live one per folder (tiny/, nixos/, cloud-init/).
import type { ImageConfig } from '../harness/scenario/schema.js';

export interface BuildImageOptions {
  /** OpenSSH public key lines to authorise for the login user. Public halves only: never a private key. */
  authorizedKeys: string[];
  /** harnessPaths().cache: images go to <cacheDir>/images/<key>/, packages to <cacheDir>/debs/. */
  cacheDir: string;
  /** Resolves relative paths in the image config (e.g. `iso: ./my.iso`); defaults to the working directory. */
  baseDir?: string;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
  /** Where the image config sits in its scenario (file, field path, positions): builder errors name it. */
  source?: import('./image-source.js').ImageSource;
  /** The VM the image is for: cloud-init seeds take their hostname and instance-id from it. */
  vmName?: string;
}

/** A bootable image as the builders hand it to providers (harness/providers/provider.ts re-exports it). */
export interface BuiltImage {
  /** iso: boot from a CD; disk: a base disk image to overlay (cloud images), optionally with a seed ISO. */
  kind: 'iso' | 'disk';
  path: string;
  /** NoCloud seed ISO to attach beside a disk image. */
  seedIso?: string;
  /** The guest's SSH host public key line ("ssh-ed25519 AAAA..."), pinned during the handshake. */
  hostPublicKey?: string;
  /** The user the harness logs in as. */
  user: string;
  builder: string;
  cacheKey: string;
  /** True when the cache already held this image (nothing was built). */
  reused?: boolean;
  /** Boot this kernel and initramfs directly (qemu -kernel/-initrd, libvirt <kernel>) instead of the ISO's loader. */
  directBoot?: DirectBoot;
}

export interface DirectBoot {
  kernel: string;
  initrd: string;
  /** The kernel command line, the same one the ISO's boot loader passes. */
  cmdline: string;
}

export type ImageBuilder<C extends ImageConfig = ImageConfig> = (image: C, opts: BuildImageOptions) => Promise<BuiltImage>;

/** What the nixos and cloud-init builders take besides their image config (keys may come with file:line). */
export interface GuestImageBuildOptions {
  /** Public keys root accepts; a string, or a line read from a key file (errors then name file:line). */
  authorizedKeys: ReadonlyArray<string | import('./nixos/key-lines.js').KeyLine>;
  cacheDir: string;
  /** Folder relative paths in the image config are read from (the scenario file's folder). */
  baseDir?: string;
  /** The scenario file, for error messages (`source` says more: field path and positions). */
  sourceFile?: string;
  source?: import('./image-source.js').ImageSource;
  /** The VM the image is for (cloud-init: hostname and instance-id derive from it unless hostName is given). */
  vmName?: string;
  hostName?: string;
  onProgress?: (line: string) => void;
  /** Environment for the external tools (PATH decides which one runs). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}
