// How a harness VM is called inside libvirt. The domain name carries the `harness-` prefix (so the harness can
// find its own among a host's domains) and a short hash of the vms/ directory, because qemu:///system is shared
// by every checkout on the host: two projects may both have a VM called `web`.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

export const DOMAIN_PREFIX = 'harness-';

export function domainName(vm: string, vmsDir: string): string {
  return `${DOMAIN_PREFIX}${vm}-${digest(resolve(vmsDir)).slice(0, 8)}`;
}

/** A stable locally administered MAC in qemu's 52:54:00 range, derived from the domain name. */
export function macFor(domain: string): string {
  const h = digest(`mac:${domain}`);
  return `52:54:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
