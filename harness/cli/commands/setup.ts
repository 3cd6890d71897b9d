// `harness setup`: installs the host packages the default path needs (qemu, ISO tools, dropbear tools) where it
// may (root with apt-get), or prints the exact command when it may not; then builds the tiny image once.
import { execa } from 'execa';
import type { CliCommand } from '../command.js';
import { parse } from '../args.js';
import { harnessPaths } from '../../paths.js';
import { projectKeyPair } from '../../keys.js';
import { ProviderUnavailable } from '../../errors.js';
import { buildImage } from '../../../iso/index.js';
import { applyUdevKvmDefault, inspectKvmAccess } from '../../providers/libvirt/kvm-access.js';

/** Debian package -> a command it provides (to tell whether it's installed). */
export const HOST_PACKAGES: Record<string, string> = {
  'qemu-system-x86': 'qemu-system-x86_64',
  'qemu-utils': 'qemu-img',
  xorriso: 'xorriso',
  'grub-pc-bin': '/usr/lib/grub/i386-pc/cdboot.img', // grub-mkrescue builds eltorito.img from it
  'grub-common': 'grub-mkrescue',
  mtools: 'mformat',
  'dropbear-bin': 'dropbearconvert',
  'openssh-client': 'ssh',
  cpio: 'cpio',
  'busybox-static': '/bin/busybox',
};

export async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const [pkg, probe] of Object.entries(HOST_PACKAGES)) {
    const ok = probe.startsWith('/')
      ? (await execa('test', ['-e', probe], { reject: false })).exitCode === 0
      : (await execa('sh', ['-c', `command -v ${probe}`], { reject: false })).exitCode === 0;
    if (!ok) missing.push(pkg);
  }
  return missing;
}

export const setupCommand: CliCommand = {
  name: 'setup',
  usage: 'usage: harness setup [--no-install]   (without root, prints the apt-get command to run)',
  async run(args, io) {
    const { values } = parse(args, { 'no-install': { type: 'boolean' } }, false);
    const missing = await missingPackages();
    if (missing.length) {
      const cmd = `apt-get update && apt-get install -y ${missing.join(' ')}`;
      const root = process.getuid?.() === 0;
      if (!root || values['no-install']) throw new ProviderUnavailable('host packages', `missing: ${missing.join(', ')}`, root ? cmd : `sudo sh -c '${cmd}'`);
      io.err(`harness setup: installing ${missing.join(' ')}\n`);
      await execa('apt-get', ['update', '-q'], { stdio: 'inherit', env: { DEBIAN_FRONTEND: 'noninteractive' } });
      await execa('apt-get', ['install', '-y', '-q', ...missing], { stdio: 'inherit', env: { DEBIAN_FRONTEND: 'noninteractive' } });
    } else io.err('harness setup: host packages present\n');
    // Where no udev ran, /dev/kvm keeps devtmpfs's root:root 0600 and libvirtd re-probes QEMU on every define (35-44 s).
    if (process.getuid?.() === 0) io.err(`harness setup: ${applyUdevKvmDefault().message}\n`);
    else {
      const access = inspectKvmAccess();
      if (access.invalidatesCaches) io.err(`harness setup: ${access.reason}; as root: ${access.fix}\n`);
    }
    const paths = harnessPaths(io.env, io.cwd);
    const keys = await projectKeyPair(paths.keys);
    const image = await buildImage({ builder: 'tiny' }, { authorizedKeys: [keys.publicKey], cacheDir: paths.cache, onProgress: (m) => io.err(`harness setup: ${m}\n`) });
    io.err(`harness setup: tiny image ${image.reused ? 'cached' : 'built'}: ${image.path}\n`);
    return 0;
  },
};
