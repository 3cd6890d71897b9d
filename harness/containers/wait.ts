// Maps a scenario's `wait:` to a testcontainers wait strategy.
import { Wait, type WaitStrategy } from 'testcontainers';
import type { ContainerWait } from '../scenario/schema.js';

/**
 * `port` is checked inside the container (a LISTEN socket in /proc/net/tcp*), because a host-side connect to a
 * published port succeeds as soon as docker-proxy listens, before the service does. Omitted = every published
 * port listens (testcontainers' own default), or nothing to wait for when none is published.
 */
export function toWaitStrategy(wait: ContainerWait | undefined, ports: number[]): WaitStrategy | undefined {
  if (!wait) return ports.length ? Wait.forListeningPorts() : undefined;
  if ('port' in wait) return Wait.forSuccessfulCommand(listeningCommand(wait.port));
  if ('log' in wait) {
    const m = wait.log;
    return Wait.forLogMessage(m.kind === 'regex' ? m.regex : m.text, wait.times);
  }
  if ('http' in wait) return Wait.forHttp(wait.http.path, wait.http.port).forStatusCode(wait.http.status);
  return Wait.forSuccessfulCommand(wait.exec);
}

/** A shell test that succeeds once something listens on TCP `port` in the container (state 0A = LISTEN). */
export function listeningCommand(port: number): string {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return `cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "0A" {print $2}' | grep -qi ':${hex}$'`;
}
