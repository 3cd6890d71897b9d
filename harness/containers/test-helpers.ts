// Helpers for the container tests (real dockerd): is an engine here, what is left behind, who listens on a port.
import { readFile } from 'node:fs/promises';
import { unavailableReason } from '../../fixtures/backend-probes.js';
import { dockerode } from './docker-client.js';
import { probeDocker } from './probe.js';

/** Why the container tests cannot run here (probeDocker's reason and fix), or undefined: describeReal's argument. */
export async function dockerUnavailable(): Promise<string | undefined> {
  return unavailableReason(await probeDocker());
}

/** Ids of all containers (running or not) carrying `label` (`key=value`). */
export async function containersWithLabel(label: string): Promise<string[]> {
  const list = await (await dockerode()).listContainers({ all: true, filters: { label: [label] } });
  return list.map((c) => c.Id);
}

/** Local addresses listening on TCP `port` on this host, read from /proc/net/tcp and tcp6, e.g. ['127.0.0.1']. */
export async function listeningAddresses(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [addr, p] = (f[1] ?? '').split(':');
      if (p === hexPort && f[3] === '0A' && addr) found.push(decodeAddress(addr));
    }
  }
  return found;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) return Buffer.from(hex, 'hex').reverse().join('.');
  // IPv6: four little-endian 32-bit words.
  const words = hex.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse().toString('hex'));
  const full = words.join('').match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
  return full.join(':');
}
