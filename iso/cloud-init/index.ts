// The cloud-init builder's public face (iso/index.ts dispatches `builder: cloud-init` here).
export { buildCloudInitImage, type CloudInitBuildOptions, type CloudInitBuildResult, type CloudInitImageConfig } from './build.js';
export { fetchVerified, DownloadFailed, DownloadVerificationFailed } from './download.js';
export { makeSeedIso, SEED_LABEL } from './seed-iso.js';
export { readIso } from './read-iso.js';
