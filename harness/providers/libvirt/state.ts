// `virsh domstate --reason` output -> harness status. The state words are virsh's own (virshDomainStateToString);
// the reason refines a paused domain: libvirt pauses a domain while it starts up and while it saves, which the
// harness calls Starting and Suspending, not Suspended.
import type { VmStatus } from '../../events.js';

export type DomState = 'running' | 'idle' | 'paused' | 'in shutdown' | 'shut off' | 'crashed' | 'pmsuspended' | 'no state';

export interface ParsedDomState {
  state: DomState;
  reason?: string;
}

const STATES: readonly DomState[] = ['running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended', 'no state'];

/** Parses `running`, `shut off (destroyed)`, `paused (starting up)`; undefined for anything else. */
export function parseDomState(stdout: string): ParsedDomState | undefined {
  const line = stdout.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  const m = /^([a-z ]+?)(?:\s+\(([^)]*)\))?$/.exec(line);
  if (!m) return undefined;
  const state = m[1] as DomState;
  if (!STATES.includes(state)) return undefined;
  return m[2] === undefined ? { state } : { state, reason: m[2] };
}

/**
 * Maps a domain state to a harness status. `sshAnswers` is only consulted for a running domain (the pidfile rule:
 * process alive and SSH answering -> Running, else Starting). `undefined` = no such domain.
 */
export async function mapDomState(parsed: ParsedDomState | undefined, sshAnswers: () => Promise<boolean>): Promise<VmStatus> {
  if (!parsed) return 'NotCreated';
  switch (parsed.state) {
    case 'running':
    case 'idle':
      return (await sshAnswers()) ? 'Running' : 'Starting';
    case 'paused':
      if (parsed.reason === 'starting up') return 'Starting';
      if (parsed.reason === 'saving' || parsed.reason === 'dumping' || parsed.reason === 'snapshot') return 'Suspending';
      return 'Suspended';
    case 'pmsuspended':
      return 'Suspended';
    case 'in shutdown':
      return 'Stopping';
    case 'shut off':
      return 'Stopped';
    case 'crashed':
      return 'Error';
    case 'no state':
      return 'Unknown';
  }
}

/** Whether qemu is up for this domain (what `isAlive` means for libvirt). */
export function isActive(parsed: ParsedDomState | undefined): boolean {
  return parsed !== undefined && parsed.state !== 'shut off' && parsed.state !== 'crashed' && parsed.state !== 'no state';
}
