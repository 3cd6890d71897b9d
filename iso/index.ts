// One entry point for images: a scenario's image config -> a BuiltImage the providers boot. Each builder owns
// its folder; this file only dispatches and handles the `{ iso: path }` case (a user-supplied image).
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BuiltImage } from './types.js';
import type { ImageConfig } from '../harness/scenario/schema.js';
import { ScenarioError } from '../harness/errors.js';
import { buildTinyImage } from './tiny/index.js';
import { buildNixosImage } from './nixos/index.js';
import { buildCloudInitImage } from './cloud-init/index.js';
import type { BuildImageOptions } from './types.js';
import { relocateImageIssues, sourceFileOf } from './image-source.js';

export type { BuildImageOptions } from './types.js';
export { listImages, pruneImages } from './cache.js';
export { listDownloads, pruneDownloads } from './downloads-cache.js';
export { cachePathsInUse } from './in-use.js';
export type { ImageSource } from './image-source.js';

export async function buildImage(image: ImageConfig, opts: BuildImageOptions): Promise<BuiltImage> {
  opts.signal?.throwIfAborted();
  if ('iso' in image) return userIso(image, opts);
  switch (image.builder) {
    case 'tiny':
      return buildTinyImage(opts, { boot: image.boot ?? 'kernel' });
    // nixos: the nix CLI (flake or classic mode) -> ISO in the cache (iso/nixos/).
    case 'nixos':
      return buildNixosImage({ ...opts, image });
    // cloud-init: a verified cloud image + a NoCloud seed ISO (iso/cloud-init/).
    case 'cloud-init':
      return buildCloudInitImage({ ...opts, image });
  }
}

/** `{ iso: path }`: nothing to build; the file must exist. Keyed by path, size and mtime (no hashing of GBs). */
async function userIso(image: Extract<ImageConfig, { iso: string }>, opts: BuildImageOptions): Promise<BuiltImage> {
  const path = resolve(opts.baseDir ?? process.cwd(), image.iso);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    const issue = { file: sourceFileOf(opts), path: 'image.iso', expected: 'an existing ISO file', found: st ? `${path} (not a regular file)` : `${path} (no such file)` };
    throw relocateImageIssues(new ScenarioError([issue]), opts.source);
  }
  const cacheKey = createHash('sha256').update(`iso\0${path}\0${st.size}\0${st.mtimeMs}`).digest('hex');
  opts.onProgress?.(`using ISO ${path}${image.hostKey ? '' : ' (no hostKey given: the harness cannot pin its host key)'}`);
  return { kind: 'iso', path, hostPublicKey: image.hostKey, user: image.user, builder: 'iso', cacheKey };
}
