// Removes containers left behind by a harness process that died (SIGKILL, OOM, power loss).
// Why not Ryuk: its image cannot be pulled offline. Every harness container carries harness.owner, harness.pid
// and harness.host labels (labels.ts); one whose owning pid is dead on this host is an orphan. Containers
// without the owner label, other owners', other hosts' and live processes' are never touched, nor those kept
// on purpose (teardown: keep).
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../lock.js';
import { dockerode } from './docker-client.js';
import { LABEL_DIR, LABEL_HOST, LABEL_NAME, LABEL_OWNER, LABEL_PID, LABEL_RUN_ID, OWNER } from './labels.js';

export interface ReapedContainer {
  id: string;
  name?: string;
  runId?: string;
  pid: number;
}

export interface ReapOptions {
  /** Only this host's containers are judged; default os.hostname(). */
  host?: string;
  /** Whether the owning process lives; default: signal 0 (lock.ts pidAlive). */
  isAlive?: (pid: number) => boolean;
}

/** Removes (force, with volumes) every orphaned harness container; returns what it removed. */
export async function reapOrphanContainers(opts: ReapOptions = {}): Promise<ReapedContainer[]> {
  const { host = hostname(), isAlive = pidAlive } = opts;
  const docker = await dockerode();
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${OWNER}`] } });
  const reaped: ReapedContainer[] = [];
  for (const c of list) {
    const labels = c.Labels ?? {};
    if (labels[LABEL_OWNER] !== OWNER || labels[LABEL_HOST] !== host) continue;
    const pid = Number(labels[LABEL_PID]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    if (await keptOnPurpose(c.Id, labels[LABEL_DIR])) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      reaped.push({ id: c.Id, name: labels[LABEL_NAME], runId: labels[LABEL_RUN_ID], pid });
    } catch (e) {
      // Already being removed by someone else (404/409) is fine; anything else is worth surfacing.
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) throw e;
    }
  }
  return reaped;
}

/** A container kept by teardown policy (RunningContainer.keep()) says so in its state dir's container.json. */
async function keptOnPurpose(id: string, dir: string | undefined): Promise<boolean> {
  if (!dir) return false;
  try {
    const rec = JSON.parse(await readFile(join(dir, 'container.json'), 'utf8')) as { id?: string; kept?: boolean };
    return rec.id === id && rec.kept === true;
  } catch {
    return false;
  }
}
