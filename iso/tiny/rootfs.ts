// Assembles the tiny guest's root filesystem as an in-memory file list (for the cpio writer): busybox with
// every applet as a symlink, dropbear with exactly the shared libraries ldd says it needs (from the extracted
// packages where they are, else from the host), kernel modules, /init and /etc, the pinned host key and
// root's authorized_keys.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CpioEntry } from './cpio.js';
import { runTool } from '../tools.js';

/** Path -> entry, with parent directories created on demand; emitted parents-first. */
export class RootTree {
  private readonly entries = new Map<string, CpioEntry>();

  dir(path: string, mode = 0o755): this {
    const p = norm(path);
    if (!p || this.entries.has(p)) return this;
    this.dir(dirname(p) === '.' ? '' : dirname(p));
    this.entries.set(p, { type: 'dir', path: p, mode });
    return this;
  }

  file(path: string, data: Buffer | string, mode = 0o644): this {
    const p = norm(path);
    this.parent(p);
    this.entries.set(p, { type: 'file', path: p, mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
    return this;
  }

  symlink(path: string, target: string): this {
    const p = norm(path);
    if (this.entries.has(p)) return this; // a real file wins over an applet link
    this.parent(p);
    this.entries.set(p, { type: 'symlink', path: p, target });
    return this;
  }

  chardev(path: string, major: number, minor: number, mode = 0o600): this {
    const p = norm(path);
    this.parent(p);
    this.entries.set(p, { type: 'chardev', path: p, mode, major, minor });
    return this;
  }

  has(path: string): boolean {
    return this.entries.has(norm(path));
  }

  list(): CpioEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private parent(p: string): void {
    const d = dirname(p);
    if (d !== '.') this.dir(d);
  }
}

const norm = (p: string) => p.replace(/^\/+/, '').replace(/\/+$/, '');

/** Adds the static busybox and a symlink per applet it reports (`--list-full` gives e.g. "usr/bin/wget"). */
export async function addBusybox(tree: RootTree, busyboxPath: string, signal?: AbortSignal): Promise<number> {
  tree.file('bin/busybox', await readFile(busyboxPath), 0o755);
  const { stdout } = await runTool('tiny image builder', busyboxPath, ['--list-full'], { signal });
  const applets = stdout.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'linuxrc');
  for (const a of applets) tree.symlink(a, '/bin/busybox');
  if (!tree.has('bin/sh')) throw new Error(`${busyboxPath} --list-full did not list bin/sh: not a usable busybox`);
  return applets.length;
}

export interface LibSource {
  soname: string;
  /** Where it was taken from: the extracted package tree or the host. */
  from: 'package' | 'host';
  path: string;
  guestPath: string;
}

/**
 * Adds `binary` at `guestPath` plus every shared library `ldd` resolves for it, preferring `libDirs` (the
 * extracted packages) over the host. A library ldd cannot find is an error naming it.
 */
export async function addDynamicBinary(
  tree: RootTree,
  binary: string,
  guestPath: string,
  libDirs: string[],
  signal?: AbortSignal,
): Promise<LibSource[]> {
  tree.file(guestPath, await readFile(binary), 0o755);
  const { stdout } = await runTool('tiny image builder', 'ldd', [binary], {
    signal,
    env: { ...process.env, LD_LIBRARY_PATH: libDirs.join(':') },
  });
  const libs: LibSource[] = [];
  for (const line of stdout.split('\n')) {
    const named = /^\s*(\S+)\s+=>\s+(\S+)\s+\(/.exec(line);
    const missing = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    const loader = /^\s*(\/\S+)\s+\(/.exec(line);
    if (missing) throw new Error(`ldd ${binary}: ${missing[1]} not found in the extracted packages (${libDirs.join(', ')}) or on the host`);
    if (named) {
      const [, soname, path] = named as unknown as [string, string, string];
      const from = libDirs.some((d) => path.startsWith(d + '/')) ? 'package' : 'host';
      libs.push({ soname, from, path, guestPath: `lib/x86_64-linux-gnu/${soname}` });
    } else if (loader) {
      libs.push({ soname: basename(loader[1]!), from: 'host', path: loader[1]!, guestPath: loader[1]!.slice(1) });
    }
  }
  for (const lib of libs) tree.file(lib.guestPath, await readFile(lib.path), 0o755);
  if (libs.some((l) => l.guestPath === 'lib64/ld-linux-x86-64.so.2')) {
    tree.symlink('lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2');
  }
  return libs;
}

/** Library directories inside an extracted package tree. */
export const packageLibDirs = (root: string) => [join(root, 'usr/lib/x86_64-linux-gnu'), join(root, 'lib/x86_64-linux-gnu')];
