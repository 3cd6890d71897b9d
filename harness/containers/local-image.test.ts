// Real dockerd: the base image is reused by tag, a Dockerfile build sees the exact base through BASE_IMAGE, and a
// failing build says which step failed instead of leaving a half-built tag.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal } from '../../fixtures/real-backend.js';
import { dockerode } from './docker-client.js';
import { ContainerImageError } from './errors.js';
import { buildImage, ensureBaseImage, imageExists } from './local-image.js';
import { dockerUnavailable } from './test-helpers.js';

const noDocker = await dockerUnavailable();
/** An image import or a one-step docker build: under 1 s measured here; the rest is room for a loaded 2-core host. */
const BUILD_MS = 120_000;

describeReal('local images (real dockerd)', noDocker, () => {
  let work = '';
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-image-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('imports the busybox base once and reuses it by content tag', async () => {
    const first = await ensureBaseImage({ cacheDir: join(work, 'cache') });
    expect(first.tag).toMatch(/^harness\/busybox:[0-9a-f]{12}$/);
    const again = await ensureBaseImage({ cacheDir: join(work, 'cache') });
    expect(again).toMatchObject({ tag: first.tag, reused: true });
    const info = await (await dockerode()).getImage('harness/busybox:latest').inspect();
    expect(info.RepoTags).toContain(first.tag);
    expect(info.Config.Cmd).toEqual(['/bin/sh']);
  }, BUILD_MS);

  it('passes the exact base as BASE_IMAGE and tags by context content', async () => {
    const ctx = join(work, 'argctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN echo built > /marker\n');
    const a = await buildImage({ context: ctx, cacheDir: join(work, 'cache'), repo: 'harness/test-build' });
    expect(a.reused).toBe(false);
    expect(await imageExists(a.tag)).toBe(true);
    await writeFile(join(ctx, 'extra.txt'), 'changes the context\n');
    const b = await buildImage({ context: ctx, cacheDir: join(work, 'cache'), repo: 'harness/test-build' });
    expect(b.tag).not.toBe(a.tag);
    const docker = await dockerode();
    for (const t of [a.tag, b.tag]) await docker.getImage(t).remove({ force: true });
  }, BUILD_MS);

  it('fails a broken build with the failing step in the message and no tag left', async () => {
    const ctx = join(work, 'badctx');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'Dockerfile'), 'FROM harness/busybox\nRUN echo about-to-fail && exit 42\n');
    const err = await buildImage({ context: ctx, cacheDir: join(work, 'cache'), repo: 'harness/test-build' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContainerImageError);
    expect((err as ContainerImageError).message).toMatch(/returned a non-zero code: 42/);
    expect((err as ContainerImageError).outputTail.join('\n')).toContain('about-to-fail');
    expect(await imageExists((err as ContainerImageError).image)).toBe(false);
  }, BUILD_MS);
});
