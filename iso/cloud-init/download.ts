// Downloads a cloud image once, verified: the bytes are hashed as they stream to a temp file beside the
// destination, and only a file whose sha256 matches is renamed into <cacheDir>/downloads/<sha256>/<name>
// (with .source.json naming the URL, for `harness iso list`). A mismatch or a failed transfer leaves nothing
// behind. file:// URLs are copied the same way. Listing and pruning: ../downloads-cache.ts.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { HarnessError } from '../../harness/errors.js';
import { withFileLock } from '../../harness/lock.js';
import { downloadsDir, SOURCE_FILE, touchDownload, type DownloadSource } from '../downloads-cache.js';

/** The bytes did not hash to the sha256 the scenario gave. `at` names where that sha256 was given (file:line: field). */
export class DownloadVerificationFailed extends HarnessError {
  constructor(readonly url: string, readonly expected: string, readonly actual: string, readonly bytes: number, downloaded = true, readonly at?: string) {
    super(`${at ? `${at}: ` : ''}sha256 check failed for ${url}: expected ${expected}, got ${actual} (${bytes} bytes)${downloaded ? '; the download was discarded' : ''}`);
  }
}

/** The transfer itself failed (HTTP status, connection, missing file). `at` names where the URL was given. */
export class DownloadFailed extends HarnessError {
  constructor(readonly url: string, detail: string, options?: { cause?: unknown; at?: string }) {
    super(`${options?.at ? `${options.at}: ` : ''}download of ${url} failed: ${detail}`, options);
  }
}

export { downloadsDir };

export interface DownloadOptions {
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** Where the URL (`url`) and its sha256 (`sha256`) were given, e.g. `s.yaml:7:13: vms.web.image.base`, for errors. */
  at?: { url?: string; sha256?: string };
}

/** Returns the verified local copy of `url`, downloading it only when the cache lacks it. */
export async function fetchVerified(url: string, sha256: string, cacheDir: string, opts: DownloadOptions = {}): Promise<string> {
  const dir = join(downloadsDir(cacheDir), sha256);
  const dest = join(dir, fileName(url));
  if (await isFile(dest)) {
    await touchDownload(dir);
    return dest;
  }
  await mkdir(downloadsDir(cacheDir), { recursive: true });
  return withFileLock(downloadsDir(cacheDir), sha256, async () => {
    if (await isFile(dest)) return dest;
    await mkdir(dir, { recursive: true });
    const tmp = `${dest}.partial-${process.pid}`;
    try {
      const hash = createHash('sha256');
      let bytes = 0;
      const { body, total } = await open(url, opts.signal, opts.at?.url);
      let nextReport = 0.1;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          if (total && bytes / total >= nextReport) {
            opts.onProgress?.(`downloaded ${mib(bytes)} of ${mib(total)} from ${url}`);
            nextReport += 0.1;
          }
          done(null, chunk);
        },
      });
      await pipeline(body, counter, createWriteStream(tmp, { mode: 0o644 }), { signal: opts.signal });
      const actual = hash.digest('hex');
      if (actual !== sha256) throw new DownloadVerificationFailed(url, sha256, actual, bytes, true, opts.at?.sha256);
      await rename(tmp, dest);
      const source: DownloadSource = { url, sha256, downloaded: new Date().toISOString() };
      await writeFile(join(dir, SOURCE_FILE), JSON.stringify(source, null, 2) + '\n').catch(() => undefined);
      return dest;
    } catch (e) {
      await rm(tmp, { force: true });
      // Leave no empty <sha256>/ folder either.
      if ((await readdir(dir).catch(() => ['?'])).length === 0) await rmdir(dir).catch(() => undefined);
      if (e instanceof HarnessError) throw e;
      throw new DownloadFailed(url, (e as Error).message, { cause: e, at: opts.at?.url });
    }
  });
}

/** Hashes a local file (for a local base image given with a sha256). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function open(url: string, signal?: AbortSignal, at?: string): Promise<{ body: Readable; total?: number }> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const path = fileURLToPath(u);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new DownloadFailed(url, `no file at ${path}`, { at });
    return { body: createReadStream(path), total: st.size };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new DownloadFailed(url, `expected an https://, http:// or file:// URL, got ${u.protocol}`, { at });
  const res = await fetch(u, { signal, redirect: 'follow' });
  if (!res.ok || !res.body) throw new DownloadFailed(url, `HTTP ${res.status} ${res.statusText}`, { at });
  const len = Number(res.headers.get('content-length'));
  return { body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), total: Number.isFinite(len) && len > 0 ? len : undefined };
}

function fileName(url: string): string {
  const name = basename(new URL(url).pathname).replace(/[^A-Za-z0-9._-]/g, '_');
  return name && name !== '.' && name !== '..' ? name : 'download';
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
