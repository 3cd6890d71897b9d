// Which cached files the machines in a vms/ folder still need: the image a VM booted (vm.json), its seed ISO,
// and the base its disk overlay stands on (read from the qcow2 header, so a disk kept by preserve-disk, whose
// vm.json is gone, still protects its base). Pruning the cache never removes these.
import { readdir } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { vmFiles } from '../harness/paths.js';
import { readVmRecord } from '../harness/vm-record.js';
import { qcow2BackingChain } from './qcow2-backing.js';

/** Absolute path -> the VM that uses it. */
export type PathsInUse = Map<string, string>;

export async function cachePathsInUse(vmsDir: string): Promise<PathsInUse> {
  const out: PathsInUse = new Map();
  const entries = await readdir(vmsDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.') || e.name.endsWith('.lock')) continue;
    const rec = await readVmRecord(vmsDir, e.name);
    const used = [rec?.image?.path, rec?.image?.seedIso, ...(await qcow2BackingChain(vmFiles(vmsDir, e.name).disk))];
    for (const p of used) if (p && !out.has(resolve(p))) out.set(resolve(p), e.name);
  }
  return out;
}

/** The VM using something inside `dir` (a cache entry's folder), if any. */
export function userOf(inUse: PathsInUse | undefined, dir: string): string | undefined {
  if (!inUse) return undefined;
  const prefix = resolve(dir) + sep;
  for (const [p, vm] of inUse) if (p.startsWith(prefix) || p === resolve(dir)) return vm;
  return undefined;
}
