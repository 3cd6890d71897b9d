// The on-disk state shared by providers that run a local process per VM (qemu, and quickemu's layout): the
// pidfile and the ports file, the stopping marker, and the pidfile status rule. vm.json is harness/vm-record.ts.
import { readFile, writeFile, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmStatus } from '../events.js';
import { vmFiles } from '../paths.js';
import { pidAlive } from '../lock.js';
import { sshBanner } from './ssh-probe.js';
import { readRedactedTail } from '../redact-file.js';

/** The pid in the pidfile if that process is alive and really is this VM's (guards against pid reuse). */
export async function livePid(vmsDir: string, name: string): Promise<number | undefined> {
  const files = vmFiles(vmsDir, name);
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(files.pid, 'utf8')).split('\n')[0]!.trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return undefined;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  // Anchored on the dir plus a slash: vms/web must not match a qemu of vms/web2.
  return cmdline.includes(`${files.dir}/`) ? pid : undefined;
}

/** quickemu-style ports file: CSV lines `ssh,22220`, `forward-80,20080`. */
export function formatPortsFile(sshPort: number, forwards: Record<number, number>): string {
  return [`ssh,${sshPort}`, ...Object.entries(forwards).map(([g, h]) => `forward-${g},${h}`)].join('\n') + '\n';
}

export async function readSshPort(vmsDir: string, name: string): Promise<number | undefined> {
  try {
    const line = (await readFile(vmFiles(vmsDir, name).ports, 'utf8')).split('\n').find((l) => l.startsWith('ssh,'));
    return line ? Number(line.split(',')[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A stop in progress leaves `<dir>/stopping` (naming the stopping process) so status says Stopping rather than
 * Starting while the VM still runs but SSH is gone. A marker whose writer died is ignored.
 */
export async function markStopping(vmsDir: string, name: string): Promise<() => Promise<void>> {
  const file = join(vmFiles(vmsDir, name).dir, 'stopping');
  await writeFile(file, String(process.pid)).catch(() => undefined);
  return () => rm(file, { force: true });
}

export async function isStopping(vmsDir: string, name: string): Promise<boolean> {
  const pid = Number.parseInt(await readFile(join(vmFiles(vmsDir, name).dir, 'stopping'), 'utf8').catch(() => ''), 10);
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
}

/** The pidfile rule: no dir -> NotCreated; pid missing/dead -> Stopped; alive, no SSH -> Starting; SSH -> Running. */
export async function pidfileStatus(vmsDir: string, name: string): Promise<VmStatus> {
  const files = vmFiles(vmsDir, name);
  try {
    await readdir(files.dir);
  } catch {
    return 'NotCreated';
  }
  const pid = await livePid(vmsDir, name);
  if (pid === undefined) return 'Stopped';
  if (await isStopping(vmsDir, name)) return 'Stopping';
  const port = await readSshPort(vmsDir, name);
  if (port === undefined) return 'Starting';
  if (await sshBanner(port, '127.0.0.1', 1000)) return 'Running';
  // The banner check takes time: a stop may have begun (or ended) meanwhile, so look again before saying Starting.
  if ((await livePid(vmsDir, name)) === undefined) return 'Stopped';
  return (await isStopping(vmsDir, name)) ? 'Stopping' : 'Starting';
}

/** SIGKILL for a machine process (the second Ctrl-C); true when it was still there to kill. */
export function sigkill(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // gone already
  }
}

/** Removes everything in the VM dir, or everything but disk.qcow2 (a later start reuses it). */
export async function removeVmDir(vmsDir: string, name: string, preserveDisk: boolean): Promise<void> {
  const files = vmFiles(vmsDir, name);
  if (!preserveDisk) {
    await rm(files.dir, { recursive: true, force: true });
    return;
  }
  const keep = new Set(['disk.qcow2']);
  const entries = await readdir(files.dir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => !keep.has(e)).map((e) => rm(`${files.dir}/${e}`, { recursive: true, force: true })));
}

/** Last `n` lines of a console log, redacted (harness/redact-file.ts); empty when there is none yet. */
export async function consoleTail(path: string, n = 30): Promise<string[]> {
  const text = (await readRedactedTail(path)) ?? '';
  // eslint-disable-next-line no-control-regex
  const lines = text.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n);
}
