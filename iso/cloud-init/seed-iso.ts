// Writes a NoCloud seed: an ISO9660 volume labelled `cidata` holding user-data and meta-data, made with
// xorriso (`-as mkisofs`), or genisoimage where xorriso is missing. Inputs go through a private temp folder
// (user-data holds the guest's host private key) that is removed whatever happens.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderUnavailable } from '../../harness/errors.js';
import { findOnPath } from '../../harness/find-on-path.js';
import { runTool } from '../tools.js';

export const SEED_LABEL = 'cidata';

export interface SeedFiles {
  userData: string;
  metaData: string;
}

export async function makeSeedIso(out: string, files: SeedFiles, opts: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<{ tool: string }> {
  const env = opts.env ?? process.env;
  const tool = (await findOnPath('xorriso', env)) ? 'xorriso' : (await findOnPath('genisoimage', env)) ? 'genisoimage' : undefined;
  if (!tool) {
    throw new ProviderUnavailable('cloud-init seed builder', 'neither `xorriso` nor `genisoimage` was found on PATH', 'apt-get install -y xorriso');
  }
  const dir = await mkdtemp(join(tmpdir(), 'harness-seed-'));
  try {
    await chmod(dir, 0o700);
    await writeFile(join(dir, 'user-data'), files.userData, { mode: 0o600 });
    await writeFile(join(dir, 'meta-data'), files.metaData, { mode: 0o644 });
    const common = ['-volid', SEED_LABEL, '-joliet', '-rock', 'user-data', 'meta-data'];
    const args = tool === 'xorriso' ? ['-as', 'mkisofs', '-quiet', '-o', out, ...common] : ['-quiet', '-output', out, ...common];
    await runTool('cloud-init seed builder', tool, args, { cwd: dir, env, signal: opts.signal });
    await chmod(out, 0o600);
    return { tool };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
