// Crash recovery: a run whose harness process died (SIGKILL, power cut) stays `running` forever unless someone
// notices. Runs record their pid and host; a run on this host whose pid is gone is marked `aborted`.
import { hostname } from 'node:os';
import { pidAlive } from '../lock.js';
import type { Db } from './db.js';

export interface AbandonedOptions {
  host?: string;
  isAlive?: (pid: number) => boolean;
  now?: number;
}

/** Marks this host's `running` runs whose process is dead as aborted; returns their ids. */
export function markAbandonedRunsAborted(db: Db, opts: AbandonedOptions = {}): string[] {
  const { host = hostname(), isAlive = pidAlive, now = Date.now() } = opts;
  const running = db.prepare(`SELECT id, pid FROM runs WHERE status = 'running' AND host = ?`).all(host) as Array<{ id: string; pid: number | null }>;
  const dead = running.filter((r) => r.pid === null || (r.pid !== process.pid && !isAlive(r.pid)));
  const mark = db.prepare(`UPDATE runs SET status = 'aborted', finished_at = @now, duration_ms = @now - started_at,
      error = @error WHERE id = @id AND status = 'running'`);
  db.transaction(() => {
    for (const r of dead) mark.run({ now, error: `the harness process (pid ${r.pid ?? 'unknown'}) died before the run finished`, id: r.id });
  }).immediate();
  return dead.map((r) => r.id);
}
