// Disks for libvirt VMs. The overlay lives in the VM state dir (vms/<name>/disk.qcow2), as for the qemu provider,
// so `clean --preserve-disk` and `harness vm` find it in one place. Under qemu:///system qemu runs as
// libvirt-qemu: libvirt chowns the disk files themselves (dynamic_ownership), but NOT the directories above them,
// so every ancestor must be searchable by that user. We check that before defining the domain and say which
// directory blocks it, instead of letting libvirt fail with "Cannot access storage file ... Permission denied".
import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HarnessError, ProviderUnavailable } from '../../errors.js';

export interface ImageInfo {
  path: string;
  format: string;
  virtualSize: number;
  actualSize?: number;
  backingFile?: string;
}

/** `qemu-img info` (with -U: it also works while a running qemu holds the image lock). */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const r = await execa('qemu-img', ['info', '-U', '--output=json', path], { reject: false });
  if (r.exitCode !== 0) throw new HarnessError(`qemu-img info ${path} failed: ${String(r.stderr).trim()}`);
  const j = JSON.parse(String(r.stdout)) as { format: string; 'virtual-size': number; 'actual-size'?: number; 'backing-filename'?: string };
  return { path, format: j.format, virtualSize: j['virtual-size'], actualSize: j['actual-size'], backingFile: j['backing-filename'] };
}

/** A qcow2 overlay on `base` (size grows the guest disk; it may not shrink below the base). */
export async function createOverlay(path: string, base: string, sizeBytes?: number): Promise<void> {
  const info = await imageInfo(base);
  const size = sizeBytes !== undefined && sizeBytes > info.virtualSize ? [String(sizeBytes)] : [];
  await qemuImg(['create', '-q', '-f', 'qcow2', '-F', info.format, '-b', resolve(base), path, ...size]);
}

/** A blank qcow2 disk: ISO-booted VMs still get one, because internal snapshots need a qcow2 disk to live in. */
export async function createBlank(path: string, sizeBytes: number): Promise<void> {
  await qemuImg(['create', '-q', '-f', 'qcow2', path, String(sizeBytes)]);
}

async function qemuImg(args: string[]): Promise<void> {
  const r = await execa('qemu-img', args, { reject: false });
  if (r.exitCode !== 0) throw new HarnessError(`qemu-img ${args.join(' ')} failed: ${String(r.stderr).trim()}`);
}

export interface QemuUser {
  uid: number;
  gid: number;
  name: string;
}

/** The user qemu:///system runs qemu as: qemu.conf `user =`, else Debian's default libvirt-qemu. */
export function systemQemuUser(qemuConf = '/etc/libvirt/qemu.conf', passwd = '/etc/passwd'): QemuUser | undefined {
  const conf = safeRead(qemuConf);
  const name = /^\s*user\s*=\s*"([^"]+)"/m.exec(conf)?.[1] ?? 'libvirt-qemu';
  if (/^\+?0$/.test(name) || name === 'root') return { uid: 0, gid: 0, name: 'root' };
  const line = safeRead(passwd)
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), name };
}

/**
 * Finds the first directory above `file` that `user` cannot search (x bit by owner, group or other).
 * Supplementary groups are not consulted: a miss there gives a false alarm, never a false pass.
 */
export async function unsearchableAncestor(file: string, user: QemuUser): Promise<string | undefined> {
  if (user.uid === 0) return undefined;
  let dir = dirname(resolve(file));
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of chain) {
    const s = await stat(d);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return d;
  }
  return undefined;
}

/** Throws ProviderUnavailable naming the directory that keeps qemu (as `user`) from reaching `files`. */
export async function assertQemuCanReach(files: string[], user: QemuUser): Promise<void> {
  for (const f of files) {
    const blocked = await unsearchableAncestor(f, user);
    if (blocked) {
      throw new ProviderUnavailable(
        'libvirt',
        `qemu runs as ${user.name} (uid ${user.uid}) under qemu:///system and cannot reach ${f}: ${blocked} is not searchable by ${user.name}`,
        `chmod o+x ${blocked}   (or move the state/cache dirs with HARNESS_VMS_DIR / HARNESS_CACHE_DIR, or use qemu:///session)`,
      );
    }
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
