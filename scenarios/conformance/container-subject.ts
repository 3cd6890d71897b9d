// The container provider as a conformance subject: readiness is its wait strategy then exec `true`, the disk is
// the named volume at /data (a token written before stop must be read back after the restart), and a never-ready
// boot is a wait strategy that can't pass within a 3 s startupTimeout, ending in ContainerNotReady.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { harnessPaths, vmFiles } from '../../harness/paths.js';
import { ContainerProvider, DISK_FILE, volumeExists, volumeName, type StartedContainer } from '../../harness/containers/container-provider.js';
import { dockerode } from '../../harness/containers/docker-client.js';
import { ContainerNotReady } from '../../harness/containers/errors.js';
import { LABEL_DIR } from '../../harness/containers/labels.js';
import { containerSchema, type ContainerInput } from '../../harness/scenario/schema.js';
import type { Target } from '../../harness/targets/target.js';
import type { ConformanceSubject, SubjectContext } from './subject.js';

const READY_MS = 60_000;

export async function containerSubject(ctx: SubjectContext): Promise<ConformanceSubject<StartedContainer>> {
  const { vmsDir, emit } = ctx;
  const provider = new ContainerProvider();
  const token = randomUUID();
  const start = (name: string, input: ContainerInput) =>
    provider.start({ name, config: containerSchema.parse(input), dir: vmFiles(vmsDir, name).dir, vmsDir, emit, cacheDir: harnessPaths().cache });

  return {
    start: (name) => start(name, { image: 'harness/busybox', command: ['sleep', '3600'], wait: { exec: 'test -d /data' } }),
    ready: (m) => execReady(m, READY_MS),
    status: (name) => provider.status(name, vmsDir),
    stop: (name) => provider.stop(name, vmsDir),
    clean: (name, options) => provider.clean(name, vmsDir, options),
    async leftovers(name) {
      const dir = vmFiles(vmsDir, name).dir;
      const docker = await dockerode();
      const found = (await docker.listContainers({ all: true, filters: { label: [`${LABEL_DIR}=${dir}`] } })).map((c) => `container ${c.Id.slice(0, 12)} (${c.State})`);
      const volume = volumeName(dir, name);
      if (await volumeExists(volume)) found.push(`volume ${volume}`);
      return found;
    },
    disk: {
      preservedFiles: [DISK_FILE],
      async beforeStop(_name, target) {
        const w = await target.exec(`echo ${token} > /data/marker && sync`);
        expect(w.exitCode, w.stderr).toBe(0);
      },
      async afterPreserve(name) {
        expect(await volumeExists(volumeName(vmFiles(vmsDir, name).dir, name))).toBe(true);
      },
      async afterRestart(_name, target) {
        const r = await target.exec('cat /data/marker');
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe(token);
      },
    },
    async neverReady(name) {
      const error = await start(name, { image: 'harness/busybox', command: ['sleep', '3600'], wait: { exec: 'test -e /never-created' }, startupTimeout: '3s' }).then(
        async (m) => new Error(`expected ContainerNotReady, but container ${m.id} started`),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ContainerNotReady);
      const nr = error as ContainerNotReady;
      expect(nr.container).toBe(name);
      expect(nr.timeoutMs).toBe(3000);
      expect(nr.message).toContain('container log lines');
      return { error };
    },
  };
}

/** Exec readiness: `true` succeeds through the container's exec API (the wait strategy already passed in start). */
async function execReady(m: StartedContainer, timeoutMs: number): Promise<Target> {
  const target = m.target();
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await target.exec('true', { timeoutMs: 10_000 }).catch((e: unknown) => ({ exitCode: null, stderr: (e as Error).message }));
    if (r.exitCode === 0) return target;
    last = r.stderr;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`container ${m.name}: expected exec \`true\` to succeed within ${timeoutMs} ms, last: ${last}`);
}
