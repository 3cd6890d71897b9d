// Which events belong on a VM's timeline (the vm_events table and RunReport.timeline), and how each reads.
// One pure mapping shared by the database writer and the in-memory report builder, so both tell the same story.
import type { HarnessEvent, Severity, VmEventKind } from '../events.js';

export interface TimelineEntry {
  at: number;
  vm: string;
  type: VmEventKind;
  severity: Severity;
  message: string;
  details: Record<string, unknown> | null;
}

/** The timeline entry an event makes, or undefined for events that are not about a VM's life. Not redacted. */
export function timelineEntryFor(e: HarnessEvent): TimelineEntry | undefined {
  const at = e.at;
  switch (e.type) {
    case 'vm.created':
      return {
        at, vm: e.vm, type: 'SystemEvent', severity: 'Info',
        message: `created with ${e.provider} (${e.arch}, ${e.cpus} cpu, ${e.memoryMiB} MiB${e.sshPort ? `, ssh 127.0.0.1:${e.sshPort}` : ''})`,
        details: { provider: e.provider, arch: e.arch, cpus: e.cpus, memoryMiB: e.memoryMiB, disk: e.disk ?? null, sshPort: e.sshPort ?? null, dir: e.dir },
      };
    case 'vm.status':
      return {
        at, vm: e.vm, type: 'StatusChanged', severity: e.to === 'Error' ? 'Error' : 'Info',
        message: `${e.from} -> ${e.to}${e.message ? `: ${e.message}` : ''}`,
        details: { from: e.from, to: e.to },
      };
    case 'vm.accel':
      return { at, vm: e.vm, type: 'ConfigurationUpdated', severity: e.accel === 'tcg' ? 'Warning' : 'Info', message: `accel ${e.accel}: ${e.reason}`, details: { accel: e.accel } };
    case 'vm.ready':
      return { at, vm: e.vm, type: 'SystemEvent', severity: 'Info', message: `SSH ready after ${(e.elapsedMs / 1000).toFixed(1)} s`, details: { elapsedMs: e.elapsedMs } };
    case 'vm.event':
      return { at, vm: e.vm, type: e.kind, severity: e.severity, message: e.message, details: e.details ?? null };
    case 'image.finished':
      return {
        at, vm: e.vm, type: 'SystemEvent', severity: 'Info',
        message: `image ${e.reused ? 'reused' : 'built'} by ${e.builder}: ${e.path}`,
        details: { builder: e.builder, path: e.path, cacheKey: e.cacheKey, reused: e.reused, durationMs: e.durationMs },
      };
    case 'teardown.finished':
      return {
        at, vm: e.vm, type: 'SystemEvent', severity: 'Info',
        message: `teardown (${e.policy}): ${e.action}${e.hint ? ` - ${e.hint}` : ''}`,
        details: { policy: e.policy, action: e.action },
      };
    case 'teardown.forced': {
      const killed = [...e.killedPids.map((p) => `SIGKILL to pid ${p}`), ...e.killedContainers.map((c) => `container ${c.slice(0, 12)} killed at once`)];
      return {
        at, vm: e.vm, type: 'UserAction', severity: 'Warning',
        message: `teardown forced by a second ${e.signal} (${e.policy}): ${killed.length ? killed.join(', ') : 'nothing was left running'}`,
        details: { forced: true, policy: e.policy, signal: e.signal, killedPids: e.killedPids, killedContainers: e.killedContainers },
      };
    }
    case 'task':
      if (!e.vm || e.status !== 'stopped') return undefined;
      return {
        at, vm: e.vm, type: e.exitStatus === 'OK' || e.exitStatus === undefined ? 'SystemEvent' : 'ErrorOccurred',
        severity: e.exitStatus === 'OK' || e.exitStatus === undefined ? 'Info' : 'Error',
        message: `${e.provider} task ${e.operation} finished: ${e.exitStatus ?? 'no exit status'}`,
        details: { taskId: e.taskId },
      };
    default:
      return undefined;
  }
}
