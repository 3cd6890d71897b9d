// Timeouts for tests against a real libvirtd, sized for libvirt's slow state: with /dev/kvm root:root 0600 (see
// ../kvm-access.ts) every call that looks up QEMU's capabilities re-probes QEMU. Measured on this 2-core TCG host
// against a private libvirtd that saw such a /dev/kvm (mount namespace, the real node untouched): define 44 s, start
// +4 s, snapshot-revert +4 s, restore +8 s, version 4-12 s; domstate, dumpxml, list, destroy, undefine stay at 0.02 s.

/** One define, and the start, revert and restore that may follow it, in the slow state (~60 s), with room for load. */
export const SLOW_DEFINE_MS = 90_000;

/** A test's timeout: what it needs when libvirt is fast (`fastMs`, with room) plus SLOW_DEFINE_MS per domain it defines. */
export function libvirtTestTimeout(defines: number, fastMs: number): number {
  return fastMs + defines * SLOW_DEFINE_MS;
}
