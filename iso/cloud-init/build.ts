// The cloud-init builder: a cloud image (local path, or an http(s)/file URL verified against its sha256 and
// cached) plus a NoCloud seed ISO carrying the authorised keys and a fresh host key the harness pins.
// The seed is content-addressed in the image cache; the base image is used in place (providers overlay it).
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { ScenarioError } from '../../harness/errors.js';
import type { BuiltImage } from '../types.js';
import { cacheKey, getOrBuild } from '../cache.js';
import { fingerprint } from '../authorized-keys.js';
import { checkAuthorizedKeys } from '../nixos/key-lines.js';
import type { GuestImageBuildOptions } from '../types.js';
import { generateOpenSshHostKey } from '../nixos/openssh-host-key.js';
import { DownloadVerificationFailed, fetchVerified, sha256File } from './download.js';
import { makeSeedIso } from './seed-iso.js';
import { renderMetaData, renderUserData } from './user-data.js';
import { imageFieldLabel, sourceFileOf, withImageSource } from '../image-source.js';
import { guestHostName } from '../host-name.js';

/** Bump when the seed's content changes meaning (2: hostname and instance-id from the VM name). */
const SEED_VERSION = 2;

export interface CloudInitImageConfig {
  /** Local path, or an https:// (http://, file://) URL; a URL needs sha256. */
  base: string;
  sha256?: string;
  user: string;
}

export interface CloudInitBuildOptions extends GuestImageBuildOptions {
  image: CloudInitImageConfig;
}

export interface CloudInitBuildResult extends BuiltImage {
  seedIso: string;
  /** True when the cache already held this seed. */
  reused: boolean;
}

export async function buildCloudInitImage(opts: CloudInitBuildOptions): Promise<CloudInitBuildResult> {
  return withImageSource(opts.source, () => build(opts));
}

async function build(opts: CloudInitBuildOptions): Promise<CloudInitBuildResult> {
  const file = sourceFileOf(opts);
  // Sorted and de-duplicated: the order keys were given in must not change the cache key.
  const keys = [...new Set(checkAuthorizedKeys(opts.authorizedKeys, file))].sort();
  // Each VM its own seed: hostname, instance-id and host key differ between VMs even when their keys are the same.
  const hostName = opts.hostName ?? guestHostName(opts.vmName);
  const base = await resolveBase(opts, file);

  const key = cacheKey({ builder: 'cloud-init', version: SEED_VERSION, user: opts.image.user, hostName, vmName: opts.vmName, authorizedKeys: keys });
  const entry = await getOrBuild(opts.cacheDir, key, async (entryDir) => {
    const hostKey = generateOpenSshHostKey('harness-cloud-init-host');
    const { tool } = await makeSeedIso(
      join(entryDir, 'seed.iso'),
      {
        userData: renderUserData({ authorizedKeys: keys, hostKey, user: opts.image.user }),
        metaData: renderMetaData(`${hostName}-${key.slice(0, 16)}`, hostName),
      },
      { env: opts.env, signal: opts.signal },
    );
    opts.onProgress?.(`built the NoCloud seed with ${tool}`);
    return { builder: 'cloud-init', artifact: 'seed.iso', hostPublicKey: hostKey.publicKey, inputs: { user: opts.image.user, hostName, vmName: opts.vmName, authorizedKeys: keys.map(fingerprint) } };
  });
  return {
    kind: 'disk',
    path: base,
    seedIso: entry.path,
    hostPublicKey: entry.meta.hostPublicKey,
    user: opts.image.user,
    builder: 'cloud-init',
    cacheKey: entry.key,
    reused: entry.reused,
  };
}

/** The base image on disk: a URL is downloaded and verified (cached by sha256); a local path must exist. */
async function resolveBase(opts: CloudInitBuildOptions, file: string): Promise<string> {
  const { base, sha256 } = opts.image;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base)) {
    if (!sha256) {
      throw new ScenarioError([{ file, path: 'image.sha256', expected: 'the sha256 of the image at the base URL (64 lowercase hex digits)', found: 'none' }]);
    }
    const at = { url: imageFieldLabel(opts, ['base']), sha256: imageFieldLabel(opts, ['sha256']) };
    return fetchVerified(base, sha256, opts.cacheDir, { onProgress: opts.onProgress, signal: opts.signal, at });
  }
  const path = isAbsolute(base) ? base : resolve(opts.baseDir ?? process.cwd(), base);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) {
    throw new ScenarioError([{ file, path: 'image.base', expected: 'a cloud image file (qcow2) or an https URL', found: `${path} (${st ? 'not a file' : 'missing'})` }]);
  }
  if (sha256) {
    const actual = await sha256File(path);
    if (actual !== sha256) throw new DownloadVerificationFailed(path, sha256, actual, st.size, false, imageFieldLabel(opts, ['sha256']));
  }
  return path;
}
