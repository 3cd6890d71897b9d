// Plugs containers into the harness's extension points: `doctor` prints probeDocker(), and the crash-recovery
// pass that runs before every command removes orphaned harness containers. Import once for its side effects.
// Everything is loaded lazily: that pass runs on every command, so it only talks to the engine when a
// container's state dir (vms/<name>/container.json, the mark every started container leaves) exists.
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { extraProbes } from '../doctor-probes.js';
import { registerReaper } from '../reap.js';

extraProbes.push(async () => (await import('./probe.js')).probeDocker());

registerReaper(async (paths, log) => {
  const dirs = await readdir(paths.vms, { withFileTypes: true }).catch(() => []);
  if (!dirs.some((d) => d.isDirectory() && existsSync(join(paths.vms, d.name, 'container.json')))) return;
  const { probeDocker } = await import('./probe.js');
  if (!(await probeDocker({ timeoutMs: 2_000 })).details?.serverVersion) return; // no engine answers
  const { reapOrphanContainers } = await import('./reaper.js');
  for (const r of await reapOrphanContainers()) {
    log(`reaped container ${r.name ?? r.id.slice(0, 12)} left by dead harness pid ${r.pid} (run ${r.runId ?? '?'})`);
  }
});
