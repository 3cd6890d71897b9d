// A GenericContainer whose published ports bind 127.0.0.1 only.
// Why: testcontainers 12 publishes with `{HostPort: "0"}` and no HostIp, so dockerd binds 0.0.0.0 (and ::), i.e.
// every interface; its builder has no option for the host IP and its Network has no driver options
// (com.docker.network.bridge.host_binding_ipv4). It does offer the protected `beforeContainerCreated` hook, run
// just before the create call, so we set HostIp on every binding there. testcontainers then reads the mapped
// port back from inspect (a 127.0.0.1 binding matches the IPv4 host address), so getMappedPort() still works.
// The docker-documented alternative, dockerd's `--ip=127.0.0.1` default, is daemon-wide and not ours to set.
import { GenericContainer } from 'testcontainers';
import { LOOPBACK } from './docker-client.js';

export class LoopbackContainer extends GenericContainer {
  /** Set once the engine has created the container, so a failed start can remove it whatever went wrong. */
  createdId?: string;

  protected override async containerCreated(containerId: string): Promise<void> {
    this.createdId = containerId;
  }

  protected override async beforeContainerCreated(): Promise<void> {
    const bindings = this.hostConfig.PortBindings as Record<string, Array<{ HostIp?: string; HostPort?: string }>> | undefined;
    for (const list of Object.values(bindings ?? {})) {
      for (const b of list) b.HostIp = LOOPBACK;
    }
  }
}
