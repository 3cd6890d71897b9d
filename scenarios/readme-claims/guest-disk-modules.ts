// The tiny guest loads only its network, RNG and power-button modules: its disk (a virtio-blk qcow2) has no driver,
// and FAT is a module too. For a test that needs a filesystem on the disk, this packs virtio_blk, vfat and the NLS
// tables (with their dependencies, in load order) from the very kernel package the cached tiny image was built
// from into a tar a `copyTo` step can send, plus the shell line that loads them and waits for /dev/vda.
import { execa } from 'execa';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { debsDir, extractDeb } from '../../iso/debs.js';
import { buildImage } from '../../iso/index.js';
import { resolveModules } from '../../iso/tiny/modules.js';
import { projectKeyPair } from '../../harness/keys.js';
import { harnessPaths } from '../../harness/paths.js';

export const DISK_MODULES = ['virtio_blk', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8'];

export interface GuestDiskModules {
  /** The tar to copy into the guest (members mods/NAME.ko). */
  tar: string;
  /** The guest kernel's release (uname -r) the modules are for. */
  kernelVersion: string;
  /** Shell: unpack /root/mods.tar, insmod what is not loaded yet, wait for /dev/vda to appear. */
  loadScript: string;
}

export async function guestDiskModules(workDir: string): Promise<GuestDiskModules> {
  const paths = harnessPaths();
  const image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [(await projectKeyPair(paths.keys)).publicKey], cacheDir: paths.cache });
  const meta = JSON.parse(await readFile(join(dirname(image.path), 'meta.json'), 'utf8')) as { inputs: { packages: Record<string, string> } };
  const [pkg, version] = Object.entries(meta.inputs.packages).find(([name]) => /^linux-image-.*-amd64$/.test(name)) ?? [];
  if (!pkg || !version) throw new Error(`${image.path}: meta.json names no linux-image package`);
  const deb = join(debsDir(paths.cache), `${pkg}_${version.replace(/:/g, '%3a')}_amd64.deb`);
  const kroot = join(workDir, 'kernel');
  await extractDeb(deb, kroot, ['./lib/modules/*/modules.builtin', '*/drivers/block/virtio_blk.ko', '*/drivers/virtio/*', '*/fs/fat/*', '*/fs/nls/*']);
  const kernelVersion = pkg.replace(/^linux-image-/, '');
  const modulesDir = join(kroot, 'lib/modules', kernelVersion);
  const modules = await resolveModules(modulesDir, DISK_MODULES);
  const mods = join(workDir, 'mods');
  await mkdir(mods);
  for (const m of modules) await execa('cp', [join(modulesDir, m.relPath), join(mods, `${m.name}.ko`)]);
  const tar = join(workDir, 'mods.tar');
  await execa('tar', ['-cf', tar, '-C', workDir, 'mods']);
  const names = modules.map((m) => m.name).join(' ');
  const loadScript =
    `cd /root && tar -xf mods.tar && for m in ${names}; do [ -d /sys/module/$m ] || insmod /root/mods/$m.ko || exit 1; done; ` +
    'i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; test -b /dev/vda';
  return { tar, kernelVersion, loadScript };
}
