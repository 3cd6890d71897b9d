// The extension points the harness already has: doctor lists the Docker probe, and the crash-recovery pass
// (reapOrphans, run before every command) removes a harness container whose owning process is dead.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extraProbes } from '../doctor-probes.js';
import { harnessPaths } from '../paths.js';
import { reapOrphans } from '../reap.js';
import { openRunAppender } from '../../reporters/sqlite-recorder.js';
import { dockerode } from './docker-client.js';
import { harnessLabels } from './labels.js';
import { ensureBaseImage } from './local-image.js';
import './register.js';
import { itReal } from '../../fixtures/real-backend.js';
import { dockerUnavailable } from './test-helpers.js';

const noDocker = await dockerUnavailable();
/** Imports the busybox base image (first time), starts and reaps one container: ~1 s measured here; room for a loaded 2-core host. */
const CONTAINER_MS = 120_000;

describe('container hooks', () => {
  let work = '';
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('adds the Docker probe to doctor', async () => {
    const results = await Promise.all(extraProbes.map((p) => p()));
    expect(results.map((r) => r.provider)).toContain('container');
  });

  itReal('reaps an orphaned container in the pass that runs before every command', noDocker, async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-hooks-'));
    const deadPid = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    const base = await ensureBaseImage({ cacheDir: join(work, 'cache') });
    const docker = await dockerode();
    // What a crashed run leaves: the container's state dir with its container.json (the mark the pass looks for).
    const dir = join(work, 'vms', 'ghost');
    await mkdir(dir, { recursive: true });
    const c = await docker.createContainer({ Image: base.tag, Cmd: ['sleep', '600'], Labels: harnessLabels('hooks', 'ghost', Number(deadPid), dir) });
    await writeFile(join(dir, 'container.json'), JSON.stringify({ name: 'ghost', id: c.id }));
    const logs: string[] = [];
    try {
      await c.start();
      await reapOrphans(harnessPaths({ HARNESS_PROJECT_DIR: work }), (m) => logs.push(m), openRunAppender);
      await expect(c.inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
    expect(logs.join('\n')).toContain(`reaped container ghost left by dead harness pid ${deadPid}`);
  }, CONTAINER_MS);
});
