// One entry point for images: a scenario's image config -> a BuiltImage the providers boot. Each builder owns
// its folder; this file only dispatches and handles the `{ iso: path }` case (a user-supplied image).
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BuiltImage } from '../harness/providers/provider.js';
import type { ImageConfig } from '../harness/scenario/schema.js';
import { ProviderUnavailable, ScenarioError } from '../harness/errors.js';
import { buildTinyImage } from './tiny/index.js';
import type { BuildImageOptions } from './types.js';

export type { BuildImageOptions } from './types.js';
export { listImages, pruneImages } from './cache.js';

export async function buildImage(image: ImageConfig, opts: BuildImageOptions): Promise<BuiltImage> {
  opts.signal?.throwIfAborted();
  if ('iso' in image) return userIso(image, opts);
  switch (image.builder) {
    case 'tiny':
      return buildTinyImage(opts);
    // ---- nixos: built by iso/nixos/ (another owner). Loaded lazily: a missing builder is a clear error. ----
    case 'nixos': {
      const mod = await loadBuilder<{ buildNixosImage: (o: BuildImageOptions & { image: typeof image }) => Promise<BuiltImage> }>('nixos', './nixos/index.js');
      return mod.buildNixosImage({ ...opts, image });
    }
    // ---- cloud-init: built by iso/cloud-init/ (another owner). Same convention: one options object. ----
    case 'cloud-init': {
      const mod = await loadBuilder<{ buildCloudInitImage: (o: BuildImageOptions & { image: typeof image }) => Promise<BuiltImage> }>(
        'cloud-init',
        './cloud-init/index.js',
      );
      return mod.buildCloudInitImage({ ...opts, image });
    }
  }
}

/** `{ iso: path }`: nothing to build; the file must exist. Keyed by path, size and mtime (no hashing of GBs). */
async function userIso(image: Extract<ImageConfig, { iso: string }>, opts: BuildImageOptions): Promise<BuiltImage> {
  const path = resolve(opts.baseDir ?? process.cwd(), image.iso);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    throw new ScenarioError([{ file: opts.baseDir ?? process.cwd(), path: 'image.iso', expected: 'an existing ISO file', found: st ? `${path} (not a regular file)` : `${path} (no such file)` }]);
  }
  const cacheKey = createHash('sha256').update(`iso\0${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  opts.onProgress?.(`using ISO ${path}${image.hostKey ? '' : ' (no hostKey given: the harness cannot pin its host key)'}`);
  return { kind: 'iso', path, hostPublicKey: image.hostKey, user: image.user, builder: 'iso', cacheKey };
}

/** Imports a builder module by a computed specifier, so this file compiles before that builder exists. */
async function loadBuilder<T>(builder: string, specifier: string): Promise<T> {
  try {
    return (await import(specifier)) as T;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(specifier.replace('./', '').replace('.js', ''))) {
      throw new ProviderUnavailable(`${builder} builder`, `not built yet (iso/${specifier.slice(2).replace(/\.js$/, '.ts')} is missing)`);
    }
    throw e;
  }
}
