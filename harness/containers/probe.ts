// `doctor`'s check for containers: can the harness reach a Docker engine, and can it build its base image?
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { ProbeResult } from '../providers/provider.js';
import { findStaticBusybox, BUSYBOX_FIX } from './busybox-rootfs.js';
import { dockerClient } from './docker-client.js';

export const DOCKER_INSTALL_FIX = 'apt-get install -y docker.io && (dockerd >/var/log/dockerd.log 2>&1 &)';
export const DOCKER_START_FIX = 'systemctl start docker';
export const DOCKERD_START_FIX = '(dockerd >/var/log/dockerd.log 2>&1 &)';

export interface DockerProbeOptions {
  /** How long to wait for the engine to answer; default 5 s. */
  timeoutMs?: number;
  /** Connects and returns the engine's version; default: testcontainers' runtime client. */
  connect?: () => Promise<{ serverVersion: string; host: string }>;
  /** Whether a program is on PATH; default `command -v`. */
  hasProgram?: (name: string) => Promise<boolean>;
  /** Whether systemd runs this machine; default /run/systemd/system exists. */
  systemd?: boolean;
}

export async function probeDocker(opts: DockerProbeOptions = {}): Promise<ProbeResult> {
  const { timeoutMs = 5_000, connect = defaultConnect, hasProgram = onPath, systemd = existsSync('/run/systemd/system') } = opts;
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      connect(),
      new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    const details: Record<string, string> = { serverVersion: info.serverVersion, host: info.host };
    const busybox = await findStaticBusybox().then(
      (b) => b.path,
      () => undefined,
    );
    if (!busybox) {
      return { provider: 'container', available: false, reason: `Docker ${info.serverVersion} answers, but no statically linked busybox to build the base image from`, fix: BUSYBOX_FIX, details };
    }
    details.busybox = busybox;
    return { provider: 'container', available: true, reason: `Docker ${info.serverVersion} answers; base image from ${busybox}`, details };
  } catch (e) {
    const why = (e as Error).message;
    if (!(await hasProgram('dockerd'))) {
      return { provider: 'container', available: false, reason: `no Docker engine answers (${why}) and dockerd is not installed`, fix: DOCKER_INSTALL_FIX };
    }
    return {
      provider: 'container',
      available: false,
      reason: `dockerd is installed but no engine answers (${why})`,
      fix: systemd ? DOCKER_START_FIX : DOCKERD_START_FIX,
    };
  } finally {
    clearTimeout(timer);
  }
}

async function defaultConnect(): Promise<{ serverVersion: string; host: string }> {
  const client = await dockerClient();
  await client.container.dockerode.ping();
  return { serverVersion: String(client.info.containerRuntime.serverVersion), host: client.info.containerRuntime.host };
}

async function onPath(name: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${name}`], { reject: false });
  return r.exitCode === 0;
}
