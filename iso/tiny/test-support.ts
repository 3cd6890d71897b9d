// Shared by the tiny image tests: a throwaway cache whose debs/ points at the project's package cache, so the
// ~70 MB kernel package is downloaded once per machine, not once per test run.
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harnessPaths } from '../../harness/paths.js';
import { generateEd25519KeyPair } from '../../harness/ssh/keygen.js';

export async function testCache(): Promise<{ cacheDir: string; cleanup: () => Promise<void> }> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'harness-tiny-test-'));
  const shared = join(harnessPaths().cache, 'debs');
  await mkdir(shared, { recursive: true });
  await symlink(shared, join(cacheDir, 'debs'));
  return { cacheDir, cleanup: () => rm(cacheDir, { recursive: true, force: true }) };
}

export function userKey(comment: string): { publicKey: string; privateKey: string } {
  const pair = generateEd25519KeyPair(comment);
  return { publicKey: pair.public.trim(), privateKey: pair.private };
}
