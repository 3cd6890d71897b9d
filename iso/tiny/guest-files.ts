// The text files inside the tiny guest: /init (mounts, modules, network) which then hands PID 1 to busybox
// init; the inittab that keeps dropbear, acpid and a console shell running and makes `poweroff` really power off
// (busybox init runs the shutdown actions, then the kernel's ACPI power-off ends qemu); the ACPI power button
// action; and /etc basics.
import type { KernelModule } from './modules.js';

export const GUEST = {
  address: '10.0.2.15/24',
  gateway: '10.0.2.2',
  dns: '10.0.2.3',
  hostname: 'tiny',
  hostKeyPath: '/etc/dropbear/dropbear_ed25519_host_key',
  /** Printed on the serial console once dropbear is being started: readiness code may watch for it. */
  readyLine: 'harness-tiny: starting dropbear on port 22',
} as const;

export function initScript(kernelVersion: string, modules: KernelModule[]): string {
  const insmods = modules.map((m) => `load ${m.name} /lib/modules/${kernelVersion}/${m.relPath}`).join('\n');
  return `#!/bin/sh
# harness tiny image: bring up the pseudo filesystems, virtio modules (in dependency order) and the network,
# then hand PID 1 to busybox init (/etc/inittab starts dropbear and the console shell).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
log() { echo "harness-tiny: $*"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
load() { insmod "$2" || log "insmod $1 failed"; }
${insmods}
hostname ${GUEST.hostname}
ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
ip addr add ${GUEST.address} dev eth0
ip route add default via ${GUEST.gateway}
log "eth0 $(ip -o -4 addr show eth0 | awk '{print $4}') gw ${GUEST.gateway}"
chmod 700 /root /root/.ssh
chmod 600 /root/.ssh/authorized_keys
log "$(uname -a)"
log "${GUEST.readyLine.replace('harness-tiny: ', '')}"
exec /sbin/init
`;
}

export function inittab(): string {
  return `# busybox init: dropbear (key-only root login, logs to the console), acpid for the power button (foreground,
# logging each event to the console) and a shell on the serial console.
::respawn:/usr/sbin/dropbear -F -E -s -p 22 -r ${GUEST.hostKeyPath}
::respawn:/sbin/acpid -f -d
ttyS0::respawn:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/echo harness-tiny: powering off
::shutdown:/bin/umount -a -r
`;
}

/**
 * What busybox acpid runs on the ACPI power button (`virsh shutdown`, QMP `system_powerdown`): its built-in
 * table maps KEY_POWER to "PWRF/00000080", run relative to /etc/acpi (a file is executed, a directory goes
 * through run-parts). `poweroff` signals busybox init, so the inittab shutdown lines run before the power-off.
 */
export const POWER_BUTTON_ACTION = {
  path: 'etc/acpi/PWRF/00000080',
  script: '#!/bin/sh\nexec /sbin/poweroff\n',
} as const;

/** Static /etc files. Root has no password at all ('*'): SSH is by key only, dropbear runs with -s. */
export function etcFiles(): Record<string, string> {
  return {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
    'etc/shadow': 'root:*:19000:0:99999:7:::\n',
    'etc/group': 'root:x:0:\ntty:x:5:\n',
    'etc/shells': '/bin/sh\n/bin/ash\n',
    'etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n',
    'etc/hosts': `127.0.0.1 localhost\n${GUEST.address.split('/')[0]} ${GUEST.hostname}\n`,
    'etc/resolv.conf': `nameserver ${GUEST.dns}\n`,
    'etc/hostname': `${GUEST.hostname}\n`,
    'etc/profile': 'export PATH=/sbin:/bin:/usr/sbin:/usr/bin\nexport PS1="\\u@\\h:\\w# "\n',
  };
}

/** The kernel command line, the same for GRUB and for a direct -kernel boot. */
export const KERNEL_CMDLINE = 'console=ttyS0,115200 quiet loglevel=3';

/**
 * GRUB menu: no wait, and no GRUB terminal on the serial port. Measured under TCG: a GRUB serial terminal adds
 * ~4 s to every boot (13.8 s vs 9.4 s to SSH), while the kernel's own `console=ttyS0` costs nothing measurable;
 * the console log still has everything from the kernel on. `quiet` keeps the slow TCG serial console short.
 */
export function grubConfig(): string {
  return `set timeout=0
set timeout_style=hidden
menuentry 'harness tiny' {
  linux /boot/vmlinuz ${KERNEL_CMDLINE}
  initrd /boot/initrd.gz
}
`;
}
