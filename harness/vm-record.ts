// vm.json: what a started machine leaves in its dir (vms/<name>/) so that any later harness process can reattach,
// ssh in, stop, clean or reap it, and so the image cache knows which images are still in use. Written by the
// providers, read by the session, the crash reaper, `harness vm` and `harness iso prune`.
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Accel, TeardownPolicy } from './events.js';
import { vmFiles } from './paths.js';
import type { VmConfig } from './scenario/schema.js';

/** What a started VM leaves in vm.json: enough to reattach, ssh in, stop and clean it later. */
export interface VmRecord {
  name: string;
  provider: string;
  config: VmConfig;
  accel: Accel;
  sshPort: number;
  forwards: Record<number, number>;
  user: string;
  hostPublicKey?: string;
  /** Path of the private key to log in with (a path only; the key itself never lives in vms/). */
  privateKeyPath: string;
  image: { path: string; builder: string; cacheKey: string; kind: 'iso' | 'disk'; seedIso?: string };
  runId?: string;
  teardown?: TeardownPolicy;
  /** The harness process that started it; used to find orphans after a crash. */
  ownerPid: number;
  createdAt: string;
  /** Set once the run decided to keep the VM (keep policy): such VMs are never reaped as orphans. */
  kept?: boolean;
  /** Provider-specific extras (libvirt URI and domain, container id...). */
  extra?: Record<string, unknown>;
}

/** The VM's vm.json, or undefined when there is none or it cannot be read. */
export async function readVmRecord(vmsDir: string, name: string): Promise<VmRecord | undefined> {
  try {
    return JSON.parse(await readFile(vmFiles(vmsDir, name).spec, 'utf8')) as VmRecord;
  } catch {
    return undefined;
  }
}

/** Writes vm.json whole or not at all (a temp file renamed over it): a reader never sees half a record. */
export async function writeVmRecord(vmsDir: string, rec: VmRecord): Promise<void> {
  const f = vmFiles(vmsDir, rec.name).spec;
  await writeFile(`${f}.tmp`, JSON.stringify(rec, null, 2));
  await rename(`${f}.tmp`, f);
}
