// Log files the harness does not write itself (the serial console, which qemu or libvirt/virtlogd appends to) get
// their secrets out here, with the same `redact` every other text goes through: read back redacted (console tails
// in errors and reports), and rewritten redacted once the harness is done with them (teardown, stop).
import { open, readdir, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { redact } from './redact.js';

/** A log file larger than this is refused (read whole into memory to rewrite it). */
const MAX_REWRITE_BYTES = 256 * 1024 * 1024;

/**
 * Bytes to text without losing any: UTF-8 when the bytes are valid UTF-8 (so registered non-ASCII secrets match),
 * else latin1 (one char per byte; every secret pattern is ASCII), so a rewrite gives back every other byte as it was.
 */
function decode(buf: Buffer): { text: string; encoding: BufferEncoding } {
  const text = buf.toString('utf8');
  return Buffer.byteLength(text, 'utf8') === buf.length && Buffer.from(text, 'utf8').equals(buf) ? { text, encoding: 'utf8' } : { text: buf.toString('latin1'), encoding: 'latin1' };
}

/**
 * The last `maxBytes` of a log file as redacted text (the first, cut line dropped when the window starts mid-file);
 * undefined when the file cannot be read. The whole window is redacted at once, so a private key block inside it
 * goes whole even when the caller keeps only its last lines.
 */
export async function readRedactedTail(path: string, maxBytes = 256 * 1024): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    let text = redact(buf.subarray(0, bytesRead).toString('utf8'));
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    return text;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** missing: no such file; unreadable: not ours to read (EACCES, e.g. root's virtlogd file), so not ours to leak. */
export type RedactFileResult = 'missing' | 'unreadable' | 'clean' | 'redacted';

/**
 * Rewrites a log file with its secrets replaced by [REDACTED]; a file without any is left untouched (not even
 * its mtime). `live: false` (no process writes it any more): a temp file beside it, then rename, so a crash leaves
 * either the old or the new file. `live: true` (a running qemu/virtlogd still appends to it with O_APPEND): the
 * same inode is overwritten from offset 0 and truncated, so the writer's later output keeps landing in the file;
 * what the writer appends in the instant between the last size check and the truncate can be lost.
 */
export async function redactLogFile(path: string, opts: { live?: boolean } = {}): Promise<RedactFileResult> {
  try {
    const st = await stat(path);
    if (st.size > MAX_REWRITE_BYTES) throw new Error(`${path}: ${st.size} bytes, over the ${MAX_REWRITE_BYTES}-byte limit for redacting a log file in place`);
    return await (opts.live ? rewriteLive(path) : rewriteByRename(path, st.mode & 0o777));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'EACCES' || code === 'EPERM') return 'unreadable';
    throw e;
  }
}

/**
 * `redactLogFile` on a console log and on the backups a rotating writer made of it (virtlogd rotates
 * NAME.log to NAME.log.0, .1, ... past its max_size); backups are never written again, so never live.
 * Returns the files that had secrets in them.
 */
export async function redactConsoleLog(path: string, opts: { live?: boolean } = {}): Promise<string[]> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const backups = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)));
  const redacted: string[] = [];
  for (const [file, live] of [[path, opts.live ?? false] as const, ...backups.map((b) => [join(dir, b), false] as const)]) {
    if ((await redactLogFile(file, { live })) === 'redacted') redacted.push(file);
  }
  return redacted;
}

async function rewriteByRename(path: string, mode: number): Promise<RedactFileResult> {
  const fh = await open(path, 'r');
  let out: Buffer | undefined;
  try {
    const buf = await readAll(fh);
    const { text, encoding } = decode(buf);
    const clean = redact(text);
    if (clean !== text) out = Buffer.from(clean, encoding);
  } finally {
    await fh.close();
  }
  if (!out) return 'clean';
  const tmp = `${path}.${process.pid}.redact.tmp`;
  try {
    await writeFile(tmp, out, { mode });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return 'redacted';
}

async function rewriteLive(path: string): Promise<RedactFileResult> {
  const fh = await open(path, 'r+');
  try {
    // Read until the size holds still across a read, so what is rewritten is everything there was.
    for (let attempt = 0; ; attempt++) {
      const buf = await readAll(fh);
      const { text, encoding } = decode(buf);
      const clean = redact(text);
      if (clean === text) return 'clean';
      if ((await fh.stat()).size !== buf.length && attempt < 5) continue;
      const out = Buffer.from(clean, encoding);
      await fh.write(out, 0, out.length, 0);
      await fh.truncate(out.length);
      return 'redacted';
    }
  } finally {
    await fh.close();
  }
}

/** The whole file from offset 0 (FileHandle.readFile reads from the current position, which moves). */
async function readAll(fh: FileHandle): Promise<Buffer> {
  const { size } = await fh.stat();
  const buf = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await fh.read(buf, at, size - at, at);
    if (bytesRead === 0) break;
    at += bytesRead;
  }
  return buf.subarray(0, at);
}
