// OpenSSH's sftp-server in the tiny guest, so dropbear serves the sftp subsystem (without it, copies fall back to
// `cat` over exec). Dropbear runs the subsystem at the path compiled into it (SFTPSERVER_PATH, /usr/lib/sftp-server
// in Debian's build), so that path is read from the dropbear binary itself and linked to the package's binary.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addDynamicBinary, type LibSource, type RootTree } from './rootfs.js';

/** The Debian package, fetched as a .deb like dropbear's (the host needs no sftp-server of its own). */
export const SFTP_SERVER_PACKAGE = 'openssh-sftp-server';
/** Where the package puts the binary (in the guest too, as on Debian). */
export const SFTP_SERVER_GUEST_PATH = 'usr/lib/openssh/sftp-server';

/**
 * The sftp-server path compiled into a dropbear binary: the one absolute, NUL-terminated string ending in
 * "sftp-server". Throws naming the binary when there is none or more than one (no guessing).
 */
export function dropbearSftpServerPath(dropbear: Buffer, binaryName = 'dropbear'): string {
  const found = new Set<string>();
  for (const m of dropbear.toString('latin1').matchAll(/(?<=\0)\/[A-Za-z0-9_./-]*\/sftp-server(?=\0)/g)) found.add(m[0]);
  if (found.size !== 1) {
    const what = found.size === 0 ? 'no' : `${found.size} (${[...found].join(', ')})`;
    throw new Error(`${binaryName}: expected one compiled-in sftp-server path (SFTPSERVER_PATH), found ${what}`);
  }
  return [...found][0]!;
}

/**
 * Adds the extracted package's sftp-server with its shared libraries, and a symlink at the path dropbear runs when
 * that path differs. Returns the path dropbear will run.
 */
export async function addSftpServer(tree: RootTree, packageRoot: string, dropbearBinary: string, libDirs: string[], signal?: AbortSignal): Promise<{ dropbearPath: string; libs: LibSource[] }> {
  const dropbearPath = dropbearSftpServerPath(await readFile(dropbearBinary), dropbearBinary);
  const libs = await addDynamicBinary(tree, join(packageRoot, SFTP_SERVER_GUEST_PATH), SFTP_SERVER_GUEST_PATH, libDirs, signal);
  if (dropbearPath.slice(1) !== SFTP_SERVER_GUEST_PATH) tree.symlink(dropbearPath, `/${SFTP_SERVER_GUEST_PATH}`);
  return { dropbearPath, libs };
}
