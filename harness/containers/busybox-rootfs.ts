// A minimal root filesystem made from the host's statically linked busybox (Debian's busybox-static), packed as a
// reproducible tarball. Why: no registry is reachable, so the base image for containers is made from a distro
// package. The content hash covers every input, so an unchanged recipe maps to the same image tag.
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { ProviderUnavailable } from '../errors.js';

/** Bump when the files below change, so old images are not reused for a new recipe. */
const RECIPE_VERSION = '1';
const DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev', 'run', 'var/www', 'var/log'];
const FILES: Record<string, string> = {
  'etc/passwd':
    'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n',
  'etc/shadow': 'root:*:19000:0:99999:7:::\n',
  'etc/os-release': 'ID=harness-busybox\nNAME="harness busybox"\n',
};
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
export const BUSYBOX_FIX = 'apt-get install -y busybox-static';

export interface BusyboxBinary {
  path: string;
  bytes: Buffer;
}

/** Finds a statically linked busybox; a dynamic one would not run in an image without libc. */
export async function findStaticBusybox(candidates = BUSYBOX_CANDIDATES): Promise<BusyboxBinary> {
  const found: string[] = [];
  for (const path of candidates) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      continue;
    }
    if (!hasInterpreter(bytes)) return { path, bytes };
    found.push(`${path} (dynamically linked)`);
  }
  throw new ProviderUnavailable(
    'container base image',
    `expected a statically linked busybox at ${candidates.join(' or ')}, found ${found.length ? found.join(', ') : 'none'}`,
    BUSYBOX_FIX,
  );
}

/** True when an ELF64 file has a PT_INTERP program header, i.e. it needs a dynamic loader. */
export function hasInterpreter(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2) throw new Error('not a 64-bit ELF file');
  const le = elf[5] === 1;
  const u16 = (o: number) => (le ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number) => (le ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const phoff = Number(le ? elf.readBigUInt64LE(32) : elf.readBigUInt64BE(32));
  const phentsize = u16(54);
  const phnum = u16(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > elf.length) break;
    if (u32(at) === 3) return true; // PT_INTERP
  }
  return false;
}

/** A short content hash of everything that goes into the rootfs. */
export function rootfsHash(busybox: Buffer): string {
  const h = createHash('sha256').update(`recipe ${RECIPE_VERSION}\n`).update(busybox);
  for (const [name, text] of Object.entries(FILES)) h.update(`${name}\n${text}`);
  h.update(DIRS.join('\n'));
  return h.digest('hex').slice(0, 12);
}

/** Lays out the rootfs in `dir`: busybox, one symlink per applet (from `busybox --list-full`), /etc files. */
export async function writeRootfs(dir: string, busybox: BusyboxBinary): Promise<void> {
  for (const d of DIRS) await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(busybox.path, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const { stdout } = await execa(busybox.path, ['--list-full']);
  for (const applet of stdout.split('\n').map((l) => l.trim())) {
    if (!applet || applet === 'bin/busybox') continue;
    await mkdir(dirname(join(dir, applet)), { recursive: true });
    await symlink('/bin/busybox', join(dir, applet)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  for (const [name, text] of Object.entries(FILES)) await writeFile(join(dir, name), text, { mode: name === 'etc/shadow' ? 0o600 : 0o644 });
}

/** Packs `dir` into a reproducible tarball (sorted, fixed mtime, root-owned). */
export async function packRootfs(dir: string, tarPath: string): Promise<void> {
  await execa('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', tarPath, '.']);
}
