// A container as a machine with a Provider-shaped lifecycle (start, status, attach, stop, clean, clean
// --preserve-disk), so the provider conformance suite and `harness vm`-style commands treat it like a VM.
// Why not RunningContainer alone: its stop() removes the container, and it has no "disk". Here stop leaves the
// container Stopped (docker stop), and the "disk" is a named docker volume mounted at /data, recorded in
// vms/<name>/disk.json; clean --preserve-disk keeps that volume (and only disk.json in the state dir) and the
// next start mounts it again, so data written before survives.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { EmittedEvent, VmStatus } from '../events.js';
import { HarnessError } from '../errors.js';
import { vmFiles } from '../paths.js';
import type { CleanOptions, ForceCleaned, ForceCleanOptions } from '../providers/provider.js';
import type { ContainerConfig } from '../scenario/schema.js';
import type { Target } from '../targets/target.js';
import { dockerode } from './docker-client.js';
import { harnessLabels, LABEL_DIR, LABEL_HOST, LABEL_OWNER, LABEL_PID, OWNER } from './labels.js';
import { startContainer, type RunningContainer } from './runtime.js';

export const DISK_FILE = 'disk.json';
export const DEFAULT_DISK_PATH = '/data';

/** What start needs: the MachineSpec of a VM, with a container config instead of a VM config and image. */
export interface ContainerMachineSpec {
  name: string;
  config: ContainerConfig;
  /** The state dir (vms/<name>): container.json, the log, disk.json. */
  dir: string;
  vmsDir: string;
  runId?: string;
  emit: (e: EmittedEvent) => void;
  /** Where the preserved volume is mounted in the container; default /data. */
  diskPath?: string;
  /** What `build.context` is relative to; default the current directory. */
  baseDir?: string;
  cacheDir?: string;
}

/** A started container: ready (its wait strategy passed), with a Target for exec. */
export interface StartedContainer {
  name: string;
  provider: 'container';
  id: string;
  dir: string;
  /** The named volume holding /data. */
  volume: string;
  logFile: string;
  target(): Target;
  /** Resolves false once the container is no longer running (stopped, removed, exited). */
  isAlive(): Promise<boolean>;
}

interface ContainerRecord {
  id?: string;
}

export class ContainerProvider {
  readonly name = 'container';

  /** Creates (or reuses the preserved) data volume, then runs the container and waits for its wait strategy. */
  async start(spec: ContainerMachineSpec): Promise<StartedContainer> {
    const { name, vmsDir } = spec;
    const status = await this.status(name, vmsDir);
    if (status === 'Running' || status === 'Starting') throw new HarnessError(`container ${name}: expected it not to be running before start, found ${status}`);
    await this.removeContainer(vmsDir, name); // a Stopped one is replaced; its /data lives in the volume
    await mkdir(spec.dir, { recursive: true });
    const { volume, created } = await this.ensureVolume(spec);
    let running: RunningContainer;
    try {
      running = await startContainer({
        name,
        config: spec.config,
        runId: spec.runId ?? `provider-${process.pid}`,
        emit: spec.emit,
        dir: spec.dir,
        baseDir: spec.baseDir,
        cacheDir: spec.cacheDir,
        mounts: [{ source: volume, target: spec.diskPath ?? DEFAULT_DISK_PATH }],
      });
    } catch (e) {
      // startContainer removed the container; a volume made just now holds nothing worth keeping.
      if (created) {
        await removeVolume(volume).catch(() => undefined);
        await rm(join(spec.dir, DISK_FILE), { force: true });
      }
      throw e;
    }
    const id = running.id;
    return {
      name,
      provider: 'container',
      id,
      dir: spec.dir,
      volume,
      logFile: running.logFile,
      target: () => running.target(),
      isAlive: () => containerRunning(id),
    };
  }

  /** docker inspect mapped to harness statuses; a preserved volume without a container is Stopped. */
  async status(name: string, vmsDir: string): Promise<VmStatus> {
    const id = await recordedId(vmsDir, name);
    if (id) {
      const state = await inspectState(id);
      if (state) return mapState(state);
    }
    const volume = await recordedVolume(vmsDir, name);
    if (volume && (await volumeExists(volume))) return 'Stopped';
    try {
      await readdir(vmFiles(vmsDir, name).dir);
      return 'Stopped';
    } catch {
      return 'NotCreated';
    }
  }

  /** Stops the container and keeps it (and its volume): status becomes Stopped. */
  async stop(name: string, vmsDir: string): Promise<void> {
    const id = await recordedId(vmsDir, name);
    if (!id) return;
    try {
      await (await dockerode()).getContainer(id).stop({ t: 2 });
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw e; // 304: already stopped; 404: already gone
    }
  }

  /** Removes the container and its state dir; the data volume too unless `preserveDisk` (then only disk.json stays). */
  async clean(name: string, vmsDir: string, options: CleanOptions = {}): Promise<void> {
    const dir = vmFiles(vmsDir, name).dir;
    await this.removeContainer(vmsDir, name);
    const volume = (await recordedVolume(vmsDir, name)) ?? volumeName(dir, name);
    if (options.preserveDisk && (await volumeExists(volume))) {
      const entries = await readdir(dir).catch(() => [] as string[]);
      await Promise.all(entries.filter((e) => e !== DISK_FILE).map((e) => rm(join(dir, e), { recursive: true, force: true })));
      await writeFile(join(dir, DISK_FILE), JSON.stringify({ volume }, null, 2));
      return;
    }
    await removeVolume(volume);
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * The second Ctrl-C: no `docker stop` grace. Every container this process started in `name`'s state dir, found
   * by its labels (so one still starting, with no container.json yet, goes too), is removed with `rm -f`, then
   * the rest is cleaned as `clean` does (preserveDisk keeps the named volume and disk.json). `keep` kills them
   * but leaves them, their state dir and volume, marked kept so the crash reaper spares them.
   */
  async forceClean(name: string, vmsDir: string, options: ForceCleanOptions = {}): Promise<ForceCleaned> {
    const dir = resolve(vmFiles(vmsDir, name).dir);
    const docker = await dockerode();
    const labels = [`${LABEL_OWNER}=${OWNER}`, `${LABEL_HOST}=${hostname()}`, `${LABEL_PID}=${process.pid}`, `${LABEL_DIR}=${dir}`];
    const mine = await docker.listContainers({ all: true, filters: { label: labels } });
    const killed = await Promise.all(
      mine.map(async (c) => {
        try {
          const container = docker.getContainer(c.Id);
          await (options.keep ? container.kill() : container.remove({ force: true, v: true }));
          return c.Id;
        } catch (e) {
          const code = (e as { statusCode?: number }).statusCode;
          if (code !== 404 && code !== 409) throw e; // gone, being removed, or not running: as good as done
          return undefined;
        }
      }),
    );
    const cleaned: ForceCleaned = { killedPids: [], killedContainers: killed.filter((id): id is string => id !== undefined) };
    if (!options.keep) {
      await this.clean(name, vmsDir, options);
      return cleaned;
    }
    const file = join(dir, 'container.json');
    const rec = await readJson<Record<string, unknown>>(file);
    if (rec) await writeFile(file, JSON.stringify({ ...rec, kept: true }, null, 2));
    return cleaned;
  }

  private async removeContainer(vmsDir: string, name: string): Promise<void> {
    const id = await recordedId(vmsDir, name);
    if (!id) return;
    try {
      await (await dockerode()).getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw e;
    }
    await rm(join(vmFiles(vmsDir, name).dir, 'container.json'), { force: true });
  }

  private async ensureVolume(spec: ContainerMachineSpec): Promise<{ volume: string; created: boolean }> {
    const volume = (await recordedVolume(spec.vmsDir, spec.name)) ?? volumeName(spec.dir, spec.name);
    const created = !(await volumeExists(volume));
    if (created) {
      await (await dockerode()).createVolume({ Name: volume, Labels: harnessLabels(spec.runId ?? `provider-${process.pid}`, spec.name, process.pid, spec.dir) });
    }
    await writeFile(join(spec.dir, DISK_FILE), JSON.stringify({ volume }, null, 2));
    return { volume, created };
  }
}

/** One volume per state dir: two projects with the same machine name never share a disk. */
export function volumeName(dir: string, name: string): string {
  return `harness-${name}-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
}

/** docker's State.Status as a harness status. */
export function mapState(state: { Status?: string; Running?: boolean }): VmStatus {
  switch (state.Status) {
    case 'created':
    case 'restarting':
      return 'Starting';
    case 'running':
      return 'Running';
    case 'paused':
      return 'Suspended';
    case 'removing':
      return 'Stopping';
    default:
      return state.Running ? 'Running' : 'Stopped'; // exited, dead
  }
}

export async function volumeExists(volume: string): Promise<boolean> {
  try {
    await (await dockerode()).getVolume(volume).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

async function removeVolume(volume: string): Promise<void> {
  try {
    await (await dockerode()).getVolume(volume).remove({ force: true });
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
}

async function containerRunning(id: string): Promise<boolean> {
  return (await inspectState(id))?.Running === true;
}

async function inspectState(id: string): Promise<{ Status?: string; Running?: boolean } | undefined> {
  try {
    return (await (await dockerode()).getContainer(id).inspect()).State;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw e;
  }
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function recordedId(vmsDir: string, name: string): Promise<string | undefined> {
  return (await readJson<ContainerRecord>(join(vmFiles(vmsDir, name).dir, 'container.json')))?.id;
}

async function recordedVolume(vmsDir: string, name: string): Promise<string | undefined> {
  return (await readJson<{ volume?: string }>(join(vmFiles(vmsDir, name).dir, DISK_FILE)))?.volume;
}
