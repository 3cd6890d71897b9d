// Which local libvirt daemons the orphan-domain reaper sweeps. It runs before every harness command, so it only
// looks at sockets (no virsh spawned) to decide: the system daemon when /run/libvirt/libvirt-sock exists, and the
// caller's own session daemon when its socket exists. As root, libvirt serves qemu:///session from the privileged
// (system) driver, the very same domains, so root's session needs no sweep of its own. A non-root session daemon
// listens on $XDG_RUNTIME_DIR/libvirt/libvirt-sock, or ~/.cache/libvirt/libvirt-sock without XDG_RUNTIME_DIR; it
// exits when idle (--timeout=120), and then no domain of ours runs there (defined ones stay: the next virsh call
// restarts it, and the next command that finds its socket reaps them).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const SYSTEM_SOCKET = '/run/libvirt/libvirt-sock';

export interface ReapUrisContext {
  uid?: number;
  env?: NodeJS.ProcessEnv;
  home?: string;
  exists?: (path: string) => boolean;
}

/** The session daemon's socket for the current user (libvirt's own rule: XDG_RUNTIME_DIR, else ~/.cache). */
export function sessionSocket(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env.XDG_RUNTIME_DIR || join(home, '.cache'), 'libvirt', 'libvirt-sock');
}

/** The URIs to reap on, in order; empty when no local libvirt daemon is up (nothing of ours can be there). */
export function localReapUris(ctx: ReapUrisContext = {}): string[] {
  const exists = ctx.exists ?? existsSync;
  const uid = ctx.uid ?? process.getuid?.() ?? -1;
  const uris: string[] = [];
  if (exists(SYSTEM_SOCKET)) uris.push('qemu:///system');
  if (uid !== 0 && exists(sessionSocket(ctx.env, ctx.home))) uris.push('qemu:///session');
  return uris;
}
