// File copies over SFTP (fastPut/fastGet), creating remote parent folders and keeping the file mode.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, posix } from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';

/** The server has no sftp subsystem (e.g. dropbear without sftp-server); callers fall back to exec copies. */
export class SftpUnavailable extends Error {}

export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    client.sftp((err, sftp) => {
      if (!err) return resolve(sftp);
      reject(/subsystem|exit code 127 while establishing SFTP/i.test(err.message) ? new SftpUnavailable(err.message) : err);
    });
  });
}

/**
 * Ends the SFTP channel and waits until the server has closed it too. Dropbear (2022.83, the tiny guest's) closes
 * a session channel opened while the previous sftp-server child is still exiting, before answering its exec
 * request: the next command failed "Unable to exec" in about 1 of 8 copies (measured, ssh2 debug log). Bounded,
 * so a server that never answers the close cannot hang the copy.
 */
export function endSftp(sftp: SFTPWrapper, timeoutMs = 5_000): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, timeoutMs);
    sftp.once('close', () => {
      clearTimeout(timer);
      done();
    });
    sftp.end();
  });
}

export async function sftpPut(sftp: SFTPWrapper, localPath: string, remotePath: string): Promise<void> {
  const { mode } = await stat(localPath);
  await sftpMkdirp(sftp, posix.dirname(remotePath));
  await call<void>((cb) => sftp.fastPut(localPath, remotePath, { mode: mode & 0o7777 }, cb));
  // The server applies its umask on create: set the mode explicitly.
  await call<void>((cb) => sftp.chmod(remotePath, mode & 0o7777, cb));
}

export async function sftpGet(sftp: SFTPWrapper, remotePath: string, localPath: string): Promise<void> {
  const attrs = await call<{ mode: number }>((cb) => sftp.stat(remotePath, cb));
  await mkdir(dirname(localPath), { recursive: true });
  await call<void>((cb) => sftp.fastGet(remotePath, localPath, cb));
  await chmod(localPath, attrs.mode & 0o7777);
}

/** mkdir -p over SFTP: creates each missing folder from the top down. */
async function sftpMkdirp(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (dir === '.' || dir === '/' || dir === '') return;
  const exists = await call<unknown>((cb) => sftp.stat(dir, cb)).then(
    () => true,
    () => false,
  );
  if (exists) return;
  await sftpMkdirp(sftp, posix.dirname(dir));
  await call<void>((cb) => sftp.mkdir(dir, cb)).catch(async (e: unknown) => {
    // Lost a race with another copy creating the same folder: fine if it is there now.
    const now = await call<unknown>((cb) => sftp.stat(dir, cb)).then(() => true, () => false);
    if (!now) throw e;
  });
}

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}
