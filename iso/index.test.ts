// buildImage's dispatch for a user-supplied ISO: nothing is built, the path must exist, the host key is passed
// through for pinning.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScenarioError } from '../harness/errors.js';
import { buildImage } from './index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iso-index-test-'));
  await writeFile(join(dir, 'my.iso'), 'not really an iso');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPBtXoaunAIcwNA/TBauseEIzVS6qebT/B8QwIEoAGlE';

describe('buildImage({ iso })', () => {
  it('resolves a relative path against baseDir and passes host key and user through', async () => {
    const img = await buildImage({ iso: './my.iso', hostKey, user: 'tester' }, { authorizedKeys: [], cacheDir: join(dir, 'cache'), baseDir: dir });
    expect(img).toMatchObject({ kind: 'iso', path: join(dir, 'my.iso'), hostPublicKey: hostKey, user: 'tester', builder: 'iso' });
    expect(img.cacheKey).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a different cache key once the file changes', async () => {
    const opts = { authorizedKeys: [], cacheDir: join(dir, 'cache'), baseDir: dir };
    const a = await buildImage({ iso: 'my.iso', user: 'root' }, opts);
    await writeFile(join(dir, 'my.iso'), 'a different, longer image');
    const b = await buildImage({ iso: 'my.iso', user: 'root' }, opts);
    expect(b.cacheKey).not.toBe(a.cacheKey);
  });

  it('names the missing path in a ScenarioError', async () => {
    const err = await buildImage({ iso: 'nope.iso', user: 'root' }, { authorizedKeys: [], cacheDir: dir, baseDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(ScenarioError);
    expect(err.message).toContain(`image.iso: expected an existing ISO file, found ${join(dir, 'nope.iso')} (no such file)`);
  });
});
