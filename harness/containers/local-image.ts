// Images built here, offline: a busybox base imported from a rootfs tarball, and `docker build` on top of it.
// Both are content-addressed (the tag carries a hash of the inputs) and reused when the tag already exists,
// under a file lock so parallel runs don't build the same thing twice.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import { execa } from 'execa';
import { withFileLock } from '../lock.js';
import { harnessPaths } from '../paths.js';
import { dockerode } from './docker-client.js';
import { findStaticBusybox, packRootfs, rootfsHash, writeRootfs } from './busybox-rootfs.js';
import { ContainerImageError } from './errors.js';

export const BASE_REPO = 'harness/busybox';
/** Build arg every Dockerfile build receives: `ARG BASE_IMAGE` then `FROM ${BASE_IMAGE}`. */
export const BASE_IMAGE_ARG = 'BASE_IMAGE';

export interface LocalImage {
  /** The content-addressed tag, e.g. harness/busybox:3f2a9c1b7d4e. */
  tag: string;
  /** True when the tag existed and nothing was built. */
  reused: boolean;
  durationMs: number;
}

export interface ImageOptions {
  /** Where the build lock lives; default the harness cache dir. */
  cacheDir?: string;
}

/** The busybox base image, imported once per content hash; also tagged `harness/busybox:latest`. */
export async function ensureBaseImage(opts: ImageOptions = {}): Promise<LocalImage> {
  const started = Date.now();
  const busybox = await findStaticBusybox();
  const tag = `${BASE_REPO}:${rootfsHash(busybox.bytes)}`;
  const docker = await dockerode();
  return withFileLock(opts.cacheDir ?? harnessPaths().cache, 'container-image', async () => {
    if (await imageExists(tag)) return { tag, reused: true, durationMs: Date.now() - started };
    const work = await mkdtemp(join(tmpdir(), 'harness-rootfs-'));
    try {
      await writeRootfs(join(work, 'rootfs'), busybox);
      await packRootfs(join(work, 'rootfs'), join(work, 'rootfs.tar'));
      const [repo, version] = tag.split(':') as [string, string];
      const stream = await docker.importImage(join(work, 'rootfs.tar'), {
        repo,
        tag: version,
        changes: ['CMD ["/bin/sh"]', 'WORKDIR /'],
        message: 'harness busybox base (busybox-static)',
      });
      await followJson(docker, stream, tag);
      await docker.getImage(tag).tag({ repo, tag: 'latest' });
    } catch (e) {
      if (e instanceof ContainerImageError) throw e;
      throw new ContainerImageError(tag, (e as Error).message, [], { cause: e });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return { tag, reused: false, durationMs: Date.now() - started };
  });
}

export interface BuildOptions extends ImageOptions {
  /** The build context directory. */
  context: string;
  /** Dockerfile path relative to the context; default `Dockerfile`. */
  dockerfile?: string;
  /** Repository for the content-addressed tag; default `harness/build`. */
  repo?: string;
  buildArgs?: Record<string, string>;
}

/**
 * `docker build` of a context on top of the local base: the Dockerfile says `FROM harness/busybox` (the latest
 * base) or `ARG BASE_IMAGE` + `FROM ${BASE_IMAGE}` (the exact one). Reuses the tag when context+base are unchanged.
 */
export async function buildImage(opts: BuildOptions): Promise<LocalImage> {
  const started = Date.now();
  const base = await ensureBaseImage(opts);
  const context = resolve(opts.context);
  const dockerfile = opts.dockerfile ?? 'Dockerfile';
  const buildArgs = { [BASE_IMAGE_ARG]: base.tag, ...opts.buildArgs };
  const hash = await contextHash(context, `${base.tag}\n${dockerfile}\n${JSON.stringify(buildArgs)}`);
  const tag = `${opts.repo ?? 'harness/build'}:${hash}`;
  const docker = await dockerode();
  return withFileLock(opts.cacheDir ?? harnessPaths().cache, 'container-image', async () => {
    if (await imageExists(tag)) return { tag, reused: true, durationMs: Date.now() - started };
    const tar = execa('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', context, '-c', '.'], {
      buffer: false,
    });
    try {
      const stream = await docker.buildImage(tar.stdout, { t: tag, dockerfile, buildargs: buildArgs, rm: true, forcerm: true, pull: false } as Dockerode.ImageBuildOptions);
      await followJson(docker, stream, tag);
      await tar;
    } catch (e) {
      tar.kill();
      if (e instanceof ContainerImageError) throw e;
      throw new ContainerImageError(tag, (e as Error).message, [], { cause: e });
    }
    if (!(await imageExists(tag))) throw new ContainerImageError(tag, 'the build finished but the tag does not exist');
    return { tag, reused: false, durationMs: Date.now() - started };
  });
}

export async function imageExists(tag: string): Promise<boolean> {
  try {
    await (await dockerode()).getImage(tag).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

/** Drains a Docker JSON-lines progress stream; an `error` line becomes a ContainerImageError with the tail. */
async function followJson(docker: Dockerode, stream: NodeJS.ReadableStream, image: string): Promise<void> {
  const output = await new Promise<Array<Record<string, unknown>>>((ok, fail) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<Record<string, unknown>>) => (err ? fail(err) : ok(out))),
  );
  const lines = output.map((o) => String(o.stream ?? o.status ?? o.error ?? '').trimEnd()).filter(Boolean);
  const failed = output.find((o) => o.error !== undefined);
  if (failed) throw new ContainerImageError(image, String(failed.error), lines.slice(-20));
}

/** Hash of every file under `dir` (path, mode, content) plus `extra`. */
async function contextHash(dir: string, extra: string): Promise<string> {
  const h = createHash('sha256').update(extra);
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(`${relative(dir, p)}\0${(await stat(p)).mode}\0`).update(await readFile(p));
      else h.update(`${relative(dir, p)}\0other\0`);
    }
  };
  await walk(dir);
  return h.digest('hex').slice(0, 12);
}
