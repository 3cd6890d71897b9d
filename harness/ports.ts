// Host port allocation that two harness processes started at the same moment can't collide on.
// A machine-wide reservation directory (one file per port, holding the owner pid) is changed only under one
// lock; a port is handed out only when no live reservation names it AND tcp-port-used finds it free on
// 127.0.0.1. The bind itself can still lose to a foreign process: callers retry with a fresh port on a clash.
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tcpPortUsed from 'tcp-port-used';
import { withFileLock, pidAlive } from './lock.js';
import { HarnessError } from './errors.js';

export interface PortReservation {
  port: number;
  pid: number;
  owner: string;
}

export interface AllocateOptions {
  owner: string;
  /** Inclusive range to pick from. */
  range?: [number, number];
  /** Ports to try first (e.g. the port a preserved VM used last time). */
  preferred?: number[];
  dir?: string;
}

export const DEFAULT_PORT_RANGE: [number, number] = [20000, 29999];

/**
 * The range ports are picked from: $HARNESS_PORT_RANGE ("LO-HI", e.g. where a firewall allows only some ports,
 * or a test that must force two runs onto the same few ports), else DEFAULT_PORT_RANGE.
 */
export function portRange(env: NodeJS.ProcessEnv = process.env): [number, number] {
  const raw = env.HARNESS_PORT_RANGE;
  if (!raw) return DEFAULT_PORT_RANGE;
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1024 || hi > 65535 || lo > hi) {
    throw new HarnessError(`HARNESS_PORT_RANGE: expected "LO-HI" with 1024 <= LO <= HI <= 65535, got "${raw}"`);
  }
  return [lo, hi];
}

export function reservationDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HARNESS_PORTS_DIR ?? defaultReservationDir();
}

const defaultReservationDir = () => join(tmpdir(), 'harness-ports');

/**
 * The default dir is shared by every user of the machine (root's runs and a user's qemu:///session runs pick from
 * one pool), so it is made like /tmp: world-writable with the sticky bit; each user adds and removes only its own
 * files. A dir the user chose with HARNESS_PORTS_DIR keeps the mode it has.
 */
export async function ensureReservationDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (dir !== defaultReservationDir()) return;
  const st = await stat(dir);
  if ((st.mode & 0o1777) === 0o1777) return;
  if (st.uid === process.getuid?.()) await chmod(dir, 0o1777);
  else {
    throw new HarnessError(
      `${dir} is shared by every harness user on this machine but is mode ${(st.mode & 0o7777).toString(8)} (owner uid ${st.uid}): this user cannot reserve ports there. ` +
        `Fix: chmod 1777 ${dir} (as its owner), or set HARNESS_PORTS_DIR to a directory of your own`,
    );
  }
}

/** Reserves `count` free ports on 127.0.0.1 for `owner` (pid = this process until handed over). */
export async function allocatePorts(count: number, opts: AllocateOptions): Promise<number[]> {
  const dir = opts.dir ?? reservationDir();
  const [lo, hi] = opts.range ?? portRange();
  await ensureReservationDir(dir);
  return withFileLock(dir, 'alloc', async () => {
    const taken = new Set((await liveReservations(dir)).map((r) => r.port));
    const picked: number[] = [];
    const candidates = [...(opts.preferred ?? []), ...randomOrder(lo, hi)];
    for (const port of candidates) {
      if (picked.length === count) break;
      if (taken.has(port) || picked.includes(port)) continue;
      if (await tcpPortUsed.check(port, '127.0.0.1')) continue;
      await writeFile(join(dir, `${port}.json`), JSON.stringify({ port, pid: process.pid, owner: opts.owner }));
      picked.push(port);
    }
    if (picked.length < count) {
      await releasePorts(picked, dir); // don't leave half an allocation reserved in a long-lived process
      throw new HarnessError(`expected ${count} free port(s) on 127.0.0.1 in ${lo}-${hi}, found ${picked.length} (the rest are in use or reserved)`);
    }
    return picked;
  }, 30_000);
}

/** Hands a reservation to the process that now holds the port (e.g. qemu), so it outlives this process. */
export async function transferPorts(ports: number[], pid: number, owner: string, dir = reservationDir()): Promise<void> {
  await Promise.all(ports.map((port) => writeFile(join(dir, `${port}.json`), JSON.stringify({ port, pid, owner }))));
}

export async function releasePorts(ports: number[], dir = reservationDir()): Promise<void> {
  await Promise.all(ports.map((p) => rm(join(dir, `${p}.json`), { force: true })));
}

/** Reservations whose owner still runs; dead ones are removed on the way. */
export async function liveReservations(dir = reservationDir()): Promise<PortReservation[]> {
  await mkdir(dir, { recursive: true });
  const out: PortReservation[] = [];
  for (const f of await readdir(dir)) {
    if (!/^\d+\.json$/.test(f)) continue;
    try {
      const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as PortReservation;
      if (pidAlive(r.pid)) out.push(r);
      else await removeStale(join(dir, f));
    } catch {
      await removeStale(join(dir, f));
    }
  }
  return out;
}

/** Another user's dead reservation cannot be removed from the sticky shared dir: it is ignored, not an error. */
async function removeStale(file: string): Promise<void> {
  await rm(file, { force: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPERM' && e.code !== 'EACCES') throw e;
  });
}

function randomOrder(lo: number, hi: number): number[] {
  const all = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}
