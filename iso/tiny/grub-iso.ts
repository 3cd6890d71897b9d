// Wraps a kernel and initramfs in a BIOS-bootable ISO with grub-mkrescue (serial console, timeout 0).
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runTool } from '../tools.js';
import { grubConfig } from './guest-files.js';

export async function makeGrubIso(
  kernel: string,
  initrd: string,
  outIso: string,
  workDir: string,
  signal?: AbortSignal,
): Promise<void> {
  const root = join(workDir, 'iso-root');
  try {
    await mkdir(join(root, 'boot', 'grub'), { recursive: true });
    await copyFile(kernel, join(root, 'boot', 'vmlinuz'));
    await copyFile(initrd, join(root, 'boot', 'initrd.gz'));
    await writeFile(join(root, 'boot', 'grub', 'grub.cfg'), grubConfig());
    // No fonts, locales or themes: a serial-only menu needs none, and the ISO stays small.
    await runTool('tiny image builder', 'grub-mkrescue', ['--fonts=', '--locales=', '--themes=', '-o', outIso, root, '--', '-volid', 'HARNESS_TINY'], { signal });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
