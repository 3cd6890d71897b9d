// doctor's Docker check: against the real engine when one runs here, and through injected stand-ins for the
// engine connection to pin down which fix each failure gets.
import { describe, expect, it } from 'vitest';
import { itReal } from '../../fixtures/real-backend.js';
import { DOCKER_INSTALL_FIX, DOCKER_START_FIX, DOCKERD_START_FIX, probeDocker } from './probe.js';
import { dockerUnavailable } from './test-helpers.js';

const noDocker = await dockerUnavailable();
const refused = async (): Promise<never> => {
  throw new Error('connect ENOENT /var/run/docker.sock');
};

describe('probeDocker', () => {
  itReal('reports the real engine version and the busybox it builds from', noDocker, async () => {
    const p = await probeDocker();
    expect(p).toMatchObject({ provider: 'container', available: true });
    expect(p.details?.serverVersion).toMatch(/^\d+\.\d+/);
    expect(p.details?.busybox).toMatch(/busybox$/);
    expect(p.fix).toBeUndefined();
  });

  it('says to install docker.io when no engine answers and dockerd is missing (stand-in connection)', async () => {
    const p = await probeDocker({ connect: refused, hasProgram: async () => false, systemd: false });
    expect(p).toMatchObject({ available: false, fix: DOCKER_INSTALL_FIX });
    expect(p.reason).toContain('ENOENT');
  });

  it('says to start dockerd, through systemd where systemd runs (stand-in connection)', async () => {
    expect((await probeDocker({ connect: refused, hasProgram: async () => true, systemd: false })).fix).toBe(DOCKERD_START_FIX);
    expect((await probeDocker({ connect: refused, hasProgram: async () => true, systemd: true })).fix).toBe(DOCKER_START_FIX);
  });

  it('gives up on an engine that never answers', async () => {
    const p = await probeDocker({ connect: () => new Promise(() => undefined), hasProgram: async () => true, systemd: false, timeoutMs: 100 });
    expect(p).toMatchObject({ available: false });
    expect(p.reason).toContain('no answer within 100 ms');
  });
});
