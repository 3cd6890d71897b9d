// The tiny image's two boot paths under the qemu provider, side by side in one scenario: `boot: kernel` (the
// default: qemu loads the kernel and initramfs itself) and `boot: iso` (BIOS, then GRUB from the CD). GRUB marks
// the kernel command line with BOOT_IMAGE=, a direct boot does not: that tells the paths apart from inside.
import { describe, expect, test } from 'vitest';
import { useScenario } from 'vm-harness/vitest';

const env = useScenario({
  name: 'boot-modes',
  vms: {
    direct: { memory: '256M', image: { builder: 'tiny' } },
    grub: { memory: '256M', image: { builder: 'tiny', boot: 'iso' } },
  },
});

describe('tiny image boot paths', () => {
  test('the default boots the kernel directly, with the same command line as GRUB passes', async () => {
    const cmdline = await env.vm('direct').succeed('cat /proc/cmdline');
    expect(cmdline).not.toContain('BOOT_IMAGE=');
    expect(cmdline).toContain('console=ttyS0,115200 quiet loglevel=3');
  });

  test('boot: iso goes through GRUB on the CD', async () => {
    const cmdline = await env.vm('grub').succeed('cat /proc/cmdline');
    expect(cmdline).toContain('BOOT_IMAGE=/boot/vmlinuz');
    expect(cmdline).toContain('console=ttyS0,115200 quiet loglevel=3');
  });
});
