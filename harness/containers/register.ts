// Plugs containers into the harness's extension points: `doctor` prints probeDocker(), and the crash-recovery
// pass that runs before every command removes orphaned harness containers. Import once for its side effects.
// Why the socket check: that pass runs on every command, so where no engine can be here it must cost nothing.
import { existsSync } from 'node:fs';
import { extraProbes } from '../doctor-probes.js';
import { registerReaper } from '../reap.js';
import { probeDocker } from './probe.js';
import { reapOrphanContainers } from './reaper.js';

extraProbes.push(() => probeDocker());

registerReaper(async (_paths, log) => {
  const dockerHost = process.env.DOCKER_HOST;
  const socket = dockerHost?.startsWith('unix://') ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
  if (!dockerHost?.startsWith('tcp://') && !existsSync(socket)) return;
  if (!(await probeDocker({ timeoutMs: 2_000 })).details?.serverVersion) return; // no engine answers
  for (const r of await reapOrphanContainers()) {
    log(`reaped container ${r.name ?? r.id.slice(0, 12)} left by dead harness pid ${r.pid} (run ${r.runId ?? '?'})`);
  }
});
