// The `tiny` image: Debian's kernel + busybox + dropbear (+ OpenSSH's sftp-server) in a gzip'd initramfs, on a
// GRUB ISO. Built offline from cached .debs, keyed by everything that goes into it, and reused when nothing changed.
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BuiltImage, DirectBoot } from '../types.js';
import { cacheKey, getOrBuild } from '../cache.js';
import { fingerprint, normalizeAuthorizedKeys } from '../authorized-keys.js';
import { extractDeb, fetchDebs, resolvePackages, type ResolvedPackage } from '../debs.js';
import { generateDropbearHostKey } from '../host-key.js';
import type { BuildImageOptions } from '../types.js';
import { writeCpio } from './cpio.js';
import { makeGrubIso } from './grub-iso.js';
import { etcFiles, GUEST, grubConfig, initScript, inittab, KERNEL_CMDLINE, POWER_BUTTON_ACTION } from './guest-files.js';
import { resolveModules, TINY_MODULES } from './modules.js';
import { addBusybox, addDynamicBinary, packageLibDirs, RootTree } from './rootfs.js';
import { addSftpServer, SFTP_SERVER_PACKAGE } from './sftp-server.js';

/** Bump when the way the image is assembled changes. The guest files' text and module list are hashed into the
 * key anyway (guestRecipe), so editing /init or the inittab can never reuse a stale image. */
export const TINY_BUILDER_VERSION = 'tiny/4';
export const TINY_PACKAGES = ['linux-image-amd64', 'busybox-static', 'dropbear-bin', 'libtomcrypt1', 'libtommath1', SFTP_SERVER_PACKAGE];
/** Host libraries dropbear links against that we copy in; their contents are part of the key. */
const HOST_LIBS = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/x86_64-linux-gnu/libz.so.1',
  '/lib/x86_64-linux-gnu/libcrypt.so.1',
  '/lib/x86_64-linux-gnu/libgmp.so.10',
  '/lib64/ld-linux-x86-64.so.2',
];
/** Kernel package members we need (the package is ~400 MB unpacked). */
const KERNEL_MEMBERS = ['./boot/vmlinuz-*', './lib/modules/*/modules.builtin', './lib/modules/*/modules.order', '*virtio*', '*/failover.ko', '*/net_failover.ko', '*/acpi/button.ko', '*/input/evdev.ko'];

export const TINY_ISO = 'tiny.iso';

/** How a tiny image is made, besides the keys: what `buildTinyImage` takes in its second argument. */
export interface TinyOptions {
  /** `kernel` (the default) hands providers the kernel and initramfs for a direct boot; the ISO is the same. */
  boot?: 'kernel' | 'iso';
  /**
   * Include OpenSSH's sftp-server, so dropbear serves the sftp subsystem. Default true. `false` builds a guest
   * whose copies go through `cat` over exec (a different image: the choice is part of the cache key).
   */
  sftpServer?: boolean;
}

export interface TinyInputs {
  builder: string;
  /** Whether the guest has sftp-server (its package version is then in `packages`). */
  sftpServer: boolean;
  /** sha256 of every text the guest gets from this builder, and of the module list. */
  recipe: string;
  authorizedKeys: string[];
  packages: Record<string, string>;
  hostLibs: Record<string, string>;
}

/** Everything the image depends on; its sha256 is the cache key. Cheap: local apt lists and ~3 MB of hashing. */
export async function tinyInputs(
  authorizedKeys: string[],
  cacheDir: string,
  signal?: AbortSignal,
  { sftpServer = true }: Pick<TinyOptions, 'sftpServer'> = {},
): Promise<{ inputs: TinyInputs; packages: ResolvedPackage[] }> {
  const keys = normalizeAuthorizedKeys(authorizedKeys); // first: a bad key fails before any apt work
  // Always the full list (resolvePackages remembers one answer per list), then without what this image omits.
  const all = await resolvePackages(TINY_PACKAGES, cacheDir, signal);
  const packages = sftpServer ? all : all.filter((p) => p.name !== SFTP_SERVER_PACKAGE);
  const hostLibs: Record<string, string> = {};
  for (const lib of HOST_LIBS) {
    const data = await readFile(lib).catch(() => undefined);
    if (data) hostLibs[lib] = createHash('sha256').update(data).digest('hex');
  }
  return {
    inputs: {
      builder: TINY_BUILDER_VERSION,
      sftpServer,
      recipe: guestRecipe(),
      authorizedKeys: keys,
      packages: Object.fromEntries(packages.map((p) => [p.name, p.version])),
      hostLibs,
    },
    packages,
  };
}

/** Everything the guest files are made of. /init's module lines come from TINY_MODULES and the kernel package
 * (both in the key), so its template is rendered with a placeholder version and no modules. */
export function guestRecipe(): string {
  const texts = { init: initScript('KERNEL', []), inittab: inittab(), etc: etcFiles(), grub: grubConfig(), power: POWER_BUTTON_ACTION, modules: TINY_MODULES, cmdline: KERNEL_CMDLINE };
  return createHash('sha256').update(JSON.stringify(texts)).digest('hex');
}

/** Builds (or reuses) the tiny image for these keys; `how` says how it boots and what it holds (TinyOptions). */
export async function buildTinyImage(opts: BuildImageOptions, how: TinyOptions = {}): Promise<BuiltImage> {
  const progress = opts.onProgress ?? (() => undefined);
  const { inputs, packages } = await tinyInputs(opts.authorizedKeys, opts.cacheDir, opts.signal, how);
  const key = cacheKey(inputs);
  const started = Date.now();
  const entry = await getOrBuild(
    opts.cacheDir,
    key,
    async (tmp) => {
      const without = inputs.sftpServer ? '' : `; without ${SFTP_SERVER_PACKAGE}`;
      progress(`building tiny image ${key.slice(0, 12)} (${Object.entries(inputs.packages).map(([n, v]) => `${n} ${v}`).join(', ')}${without})`);
      const hostPublicKey = await assembleTiny(tmp, inputs, packages, opts);
      return {
        builder: 'tiny',
        artifact: TINY_ISO,
        hostPublicKey,
        inputs: { ...inputs, authorizedKeys: inputs.authorizedKeys.map(fingerprint) },
      };
    },
    { onWait: () => progress(`waiting for another build of tiny image ${key.slice(0, 12)}`) },
  );
  progress(
    entry.reused
      ? `reused tiny image ${key.slice(0, 12)} from ${entry.path}`
      : `built tiny image ${key.slice(0, 12)} in ${((Date.now() - started) / 1000).toFixed(1)}s: ${entry.path}`,
  );
  const image: BuiltImage = { kind: 'iso', path: entry.path, hostPublicKey: entry.meta.hostPublicKey, user: 'root', builder: 'tiny', cacheKey: key, reused: entry.reused };
  return how.boot === 'iso' ? image : { ...image, directBoot: tinyBootFiles(image) };
}

/** The kernel and initramfs beside a tiny ISO, for direct `-kernel/-initrd` boots (no GRUB step). */
export function tinyBootFiles(image: Pick<BuiltImage, 'path'>): DirectBoot {
  const dir = image.path.replace(/\/[^/]+$/, '');
  return { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.gz'), cmdline: KERNEL_CMDLINE };
}

/** Builds into `tmp`: tiny.iso, vmlinuz, initrd.gz, host_key.pub. Returns the host public key line. */
async function assembleTiny(tmp: string, inputs: TinyInputs, packages: ResolvedPackage[], opts: BuildImageOptions): Promise<string> {
  const { signal } = opts;
  const progress = opts.onProgress ?? (() => undefined);
  const debs = await fetchDebs(packages, opts.cacheDir, { signal, onProgress: progress });
  const kernelPkg = packages.find((p) => p.requested === 'linux-image-amd64')!;
  const work = join(tmp, 'work');
  const kroot = join(work, 'kernel');
  const proot = join(work, 'pkgs');
  try {
    progress('extracting packages');
    await extractDeb(debs.get(kernelPkg.name)!, kroot, KERNEL_MEMBERS, signal);
    for (const p of packages) if (p !== kernelPkg) await extractDeb(debs.get(p.name)!, proot, undefined, signal);

    const kernelVersion = (await readdir(join(kroot, 'lib/modules')))[0];
    const vmlinuz = (await readdir(join(kroot, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!kernelVersion || !vmlinuz) throw new Error(`${debs.get(kernelPkg.name)}: expected boot/vmlinuz-* and lib/modules/<version>/, found neither`);
    const modulesDir = join(kroot, 'lib/modules', kernelVersion);
    const modules = await resolveModules(modulesDir, TINY_MODULES);

    // The dropbearconvert from the package we just extracted: the host needs no dropbear of its own.
    const convert = { path: join(proot, 'usr/bin/dropbearconvert'), env: { ...process.env, LD_LIBRARY_PATH: packageLibDirs(proot).join(':') } };
    const hostKey = await generateDropbearHostKey(tmp, `root@harness-tiny-${inputs.packages[kernelPkg.name]}`, { tool: convert, signal });
    const tree = new RootTree();
    for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'mnt', 'var/log', 'var/run', 'etc/dropbear']) tree.dir(d);
    tree.dir('root', 0o700).dir('root/.ssh', 0o700);
    tree.chardev('dev/console', 5, 1, 0o600).chardev('dev/null', 1, 3, 0o666);
    await addBusybox(tree, join(proot, 'bin/busybox'), signal);
    const dropbear = join(proot, 'usr/sbin/dropbear');
    await addDynamicBinary(tree, dropbear, 'usr/sbin/dropbear', packageLibDirs(proot), signal);
    if (inputs.sftpServer) {
      const sftp = await addSftpServer(tree, proot, dropbear, packageLibDirs(proot), signal);
      progress(`sftp-server at ${sftp.dropbearPath} (the path dropbear runs)`);
    }
    for (const m of modules) tree.file(`lib/modules/${kernelVersion}/${m.relPath}`, await readFile(join(modulesDir, m.relPath)));
    for (const [path, text] of Object.entries(etcFiles())) tree.file(path, text, path === 'etc/shadow' ? 0o600 : 0o644);
    tree.file('etc/inittab', inittab());
    tree.file(POWER_BUTTON_ACTION.path, POWER_BUTTON_ACTION.script, 0o755);
    tree.file('init', initScript(kernelVersion, modules), 0o755);
    tree.file(GUEST.hostKeyPath, hostKey.dropbearPrivate, 0o600);
    tree.file('root/.ssh/authorized_keys', inputs.authorizedKeys.join('\n') + '\n', 0o600);

    progress(`packing initramfs (${modules.map((m) => m.name).join(' ')})`);
    await writeFile(join(tmp, 'initrd.gz'), gzipSync(writeCpio(tree.list()), { level: 6 }));
    await copyFile(join(kroot, 'boot', vmlinuz), join(tmp, 'vmlinuz'));
    await writeFile(join(tmp, 'host_key.pub'), hostKey.publicKey + '\n');
    progress('making ISO (grub-mkrescue)');
    await makeGrubIso(join(tmp, 'vmlinuz'), join(tmp, 'initrd.gz'), join(tmp, TINY_ISO), work, signal);
    return hostKey.publicKey;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
