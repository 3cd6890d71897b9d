// The one way the harness reaches the Docker engine: testcontainers' runtime client, configured first.
// Why configure: testcontainers caches its client on first use, so the environment it reads must be set before
// anything else touches it. Ryuk (its reaper) is an image that cannot be pulled offline, so it is disabled and
// harness/containers/reaper.ts cleans up instead; and the host that wait strategies and callers dial is pinned
// to 127.0.0.1, because published ports bind there only (loopback-container.ts) and, inside a container
// (/.dockerenv), testcontainers would otherwise dial the bridge gateway.
import type Dockerode from 'dockerode';
import { getContainerRuntimeClient, type ContainerRuntimeClient } from 'testcontainers';

/** The address every published port binds to and every caller dials. */
export const LOOPBACK = '127.0.0.1';

/** Sets the testcontainers environment the harness relies on; leaves a remote DOCKER_HOST's host alone. */
export function configureTestcontainersEnv(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const dockerHost = env.DOCKER_HOST ?? '';
  const local = dockerHost === '' || dockerHost.startsWith('unix://');
  if (local && env.TESTCONTAINERS_HOST_OVERRIDE === undefined) env.TESTCONTAINERS_HOST_OVERRIDE = LOOPBACK;
}

/** The shared runtime client (testcontainers caches it per process). */
export async function dockerClient(): Promise<ContainerRuntimeClient> {
  configureTestcontainersEnv();
  return getContainerRuntimeClient();
}

/** The raw Docker API handle, for what testcontainers does not wrap (import, list by label, exec with a kill). */
export async function dockerode(): Promise<Dockerode> {
  return (await dockerClient()).container.dockerode;
}
