// Memory snapshots (virsh save/restore: the domain stops and its RAM goes to a file; restore boots from that file
// in well under a second) and disk snapshots (internal qcow2 snapshots with the RAM state, via snapshot-create-as).
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HarnessError } from '../../errors.js';
import type { Virsh } from './virsh.js';

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function checkTag(tag: string): void {
  if (!TAG_RE.test(tag)) throw new HarnessError(`expected a snapshot tag of letters, digits, '_', '.', '-' (at most 64), found ${JSON.stringify(tag)}`);
}

/** Saves the running domain's memory to `file`; the domain is shut off afterwards (state "shut off (saved)"). */
export async function saveMemory(virsh: Virsh, domain: string, file: string): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  await virsh.ok(['save', domain, resolve(file)]);
}

/** Starts a domain from a file written by saveMemory (the domain XML travels inside the file). */
export async function restoreMemory(virsh: Virsh, file: string): Promise<void> {
  await virsh.ok(['restore', resolve(file)]);
}

/** An internal snapshot (disk + memory when running) named `tag`. */
export async function snapshotCreate(virsh: Virsh, domain: string, tag: string): Promise<void> {
  checkTag(tag);
  await virsh.ok(['snapshot-create-as', domain, '--name', tag, '--atomic']);
}

/** Reverts to `tag` and leaves the domain running whatever state the snapshot was taken in. */
export async function snapshotRevert(virsh: Virsh, domain: string, tag: string): Promise<void> {
  checkTag(tag);
  await virsh.ok(['snapshot-revert', domain, tag, '--running']);
}

export async function snapshotDelete(virsh: Virsh, domain: string, tag: string): Promise<void> {
  checkTag(tag);
  await virsh.ok(['snapshot-delete', domain, tag]);
}

export async function snapshotList(virsh: Virsh, domain: string): Promise<string[]> {
  return (await virsh.ok(['snapshot-list', domain, '--name'])).split('\n').map((l) => l.trim()).filter(Boolean);
}
