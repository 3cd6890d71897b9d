// Real dockerd: a harness process killed with SIGKILL leaves its container behind; reapOrphanContainers removes
// it, and leaves alone unlabelled containers, other owners' containers, containers of live harness processes and
// containers kept on purpose.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeReal } from '../../fixtures/real-backend.js';
import { dockerode } from './docker-client.js';
import { harnessLabels, LABEL_OWNER } from './labels.js';
import { ensureBaseImage } from './local-image.js';
import { reapOrphanContainers } from './reaper.js';
import { dockerUnavailable } from './test-helpers.js';

const noDocker = await dockerUnavailable();
/** A child harness (tsx start-up) starts a container, then four bystanders start: ~5 s measured here; room for a loaded 2-core host. */
const REAP_MS = 120_000;
const fixture = fileURLToPath(new URL('./orphan-child.fixture.ts', import.meta.url));

describeReal('reapOrphanContainers (real dockerd)', noDocker, () => {
  const bystanders: string[] = [];
  let work = '';
  afterAll(async () => {
    const docker = await dockerode();
    for (const id of bystanders) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('removes the container of a SIGKILLed harness process and nothing else', async () => {
    work = await mkdtemp(join(tmpdir(), 'harness-reaper-'));
    const docker = await dockerode();
    const base = await ensureBaseImage({ cacheDir: join(work, 'cache') });
    const runId = `reap-${process.pid}-${Date.now()}`;

    // A child harness starts a labelled container, then dies without cleaning up.
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, runId, join(work, 'orphan'), join(work, 'cache')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const orphanId = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) resolve(line.trim());
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing a container id`)));
    });
    const childPid = child.pid!;
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect((await docker.getContainer(orphanId).inspect()).State.Running).toBe(true);

    // Bystanders: unlabelled, another owner's, and one whose owning process (this one) is alive.
    const run = async (labels: Record<string, string>) => {
      const c = await docker.createContainer({ Image: base.tag, Cmd: ['sleep', '600'], Labels: labels });
      bystanders.push(c.id);
      await c.start();
      return c.id;
    };
    const unlabelled = await run({});
    const otherOwner = await run({ ...harnessLabels(runId, 'other', childPid), [LABEL_OWNER]: 'someone-else' });
    const live = await run(harnessLabels(runId, 'live', process.pid));
    // Kept on purpose (teardown: keep) by the same dead process: its container.json says so.
    const keptDir = join(work, 'kept');
    const kept = await run(harnessLabels(runId, 'kept', childPid, keptDir));
    await mkdir(keptDir, { recursive: true });
    await writeFile(join(keptDir, 'container.json'), JSON.stringify({ id: kept, kept: true }));

    const reaped = await reapOrphanContainers();
    expect(reaped.map((r) => r.id)).toContain(orphanId);
    expect(reaped.find((r) => r.id === orphanId)).toMatchObject({ name: 'orphan', runId, pid: childPid });
    await expect(docker.getContainer(orphanId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    for (const id of [unlabelled, otherOwner, live, kept]) {
      expect((await docker.getContainer(id).inspect()).State.Running).toBe(true);
    }
    expect(reaped.map((r) => r.id)).not.toContain(live);
  }, REAP_MS);
});
