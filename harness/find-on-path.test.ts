import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from './find-on-path.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'find-on-path-'));
  await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
  await chmod(join(dir, 'tool'), 0o755);
  await writeFile(join(dir, 'not-exec'), '');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('findOnPath', () => {
  it('finds an executable in PATH order, skips non-executables, and checks paths with a slash as given', async () => {
    expect(await findOnPath('tool', { PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'tool'));
    expect(await findOnPath('not-exec', { PATH: dir })).toBeUndefined();
    expect(await findOnPath('tool', { PATH: '' })).toBeUndefined();
    expect(await findOnPath(join(dir, 'tool'), { PATH: '' })).toBe(join(dir, 'tool'));
    expect(await findOnPath(join(dir, 'missing'))).toBeUndefined();
  });
});
