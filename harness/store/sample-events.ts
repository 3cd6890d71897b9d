// A realistic event stream for one run (two VMs, a container, a Proxmox-style task, passing and failing steps),
// built through the real EventBus. Used by the store's tests and by bench/recorder; not used at run time.
import { EventBus, type EmittedEvent, type HarnessEvent } from '../events.js';

export interface SampleOptions {
  runId: string;
  scenario?: string;
  /** Console lines per VM (default 20). */
  logLines?: number;
  /** Makes the `curl` step fail (default true). */
  failing?: boolean;
  /** Epoch ms of the first event (default 1_700_000_000_000); events are 10 ms apart. */
  start?: number;
  /** Extra events appended before run.finished. */
  extra?: EmittedEvent[];
}

export function sampleRunEvents(o: SampleOptions): HarnessEvent[] {
  const bus = new EventBus(o.runId);
  let t = o.start ?? 1_700_000_000_000;
  const emit = (e: EmittedEvent) => bus.emit({ ...e, at: (t += 10) } as EmittedEvent);
  const failing = o.failing ?? true;
  emit({ type: 'run.started', scenario: o.scenario ?? 'web-and-db', file: 'scenarios/web-and-db.yaml', host: 'ci-host', options: { teardown: 'destroy', accel: 'auto' } });
  for (const vm of ['web', 'db']) {
    emit({ type: 'image.started', vm, builder: 'tiny' });
    emit({ type: 'image.finished', vm, builder: 'tiny', path: `/cache/${vm}.iso`, cacheKey: 'abc123', reused: vm === 'db', durationMs: 1200 });
    emit({ type: 'vm.created', vm, provider: 'qemu', arch: 'x86_64', cpus: 1, memoryMiB: 256, sshPort: vm === 'web' ? 22220 : 22221, dir: `/vms/${vm}` });
    emit({ type: 'vm.accel', vm, accel: 'tcg', reason: '/dev/kvm present but the probe guest hung' });
    emit({ type: 'vm.status', vm, from: 'Stopped', to: 'Starting' });
    for (let i = 0; i < (o.logLines ?? 20); i++) emit({ type: 'vm.log', vm, stream: 'console', line: `[${i}.000] ${vm} booting line ${i}` });
    emit({ type: 'vm.waiting', vm, phase: 'tcp', elapsedMs: 3000 });
    emit({ type: 'vm.ready', vm, elapsedMs: 12_500 });
    emit({ type: 'vm.status', vm, from: 'Starting', to: 'Running' });
    emit({ type: 'artifact', vm, kind: 'console-log', path: `/vms/${vm}/${vm}.log` });
  }
  emit({ type: 'task', vm: 'db', provider: 'proxmox', taskId: 'UPID:pve:0000ABCD:00112233:65A0B1C2:qmstart:101:root@pam:', operation: 'qmstart', status: 'running' });
  emit({ type: 'task', vm: 'db', provider: 'proxmox', taskId: 'UPID:pve:0000ABCD:00112233:65A0B1C2:qmstart:101:root@pam:', operation: 'qmstart', status: 'stopped', exitStatus: 'OK' });
  emit({ type: 'container.state', name: 'cache', image: 'local/redis:test', status: 'created', ports: [] });
  emit({ type: 'container.state', name: 'cache', image: 'local/redis:test', id: 'c0ffee', status: 'running', ports: [{ container: 6379, host: 32768 }] });
  emit({ type: 'step.started', index: 0, name: 'nginx answers', on: 'web' });
  emit({ type: 'step.finished', index: 0, name: 'nginx answers', on: 'web', status: 'passed', durationMs: 850, command: 'curl -sf localhost', exitCode: 0 });
  emit({ type: 'step.started', index: 1, name: 'db reachable from web', on: 'web' });
  emit({
    type: 'step.finished', index: 1, name: 'db reachable from web', on: 'web', status: failing ? 'failed' : 'passed', durationMs: 2100,
    command: 'nc -z db 5432', exitCode: failing ? 1 : 0,
    ...(failing ? { error: 'expected exit code 0, got 1', stdoutTail: '', stderrTail: 'nc: connect to db port 5432 (tcp) failed: Connection refused' } : {}),
  });
  emit({ type: 'step.finished', index: 2, name: 'optional check', on: 'db', status: 'skipped', durationMs: 0 });
  emit({ type: 'vm.event', vm: 'web', kind: 'UserAction', severity: 'Info', message: 'snapshot taken', details: { tag: 'before-upgrade' } });
  emit({ type: 'log', level: 'warn', message: 'accel fell back to tcg' });
  for (const e of o.extra ?? []) emit(e);
  for (const vm of ['web', 'db']) {
    emit({ type: 'teardown.started', vm, policy: 'destroy' });
    emit({ type: 'vm.status', vm, from: 'Running', to: 'Stopped' });
    emit({ type: 'teardown.finished', vm, policy: 'destroy', action: 'destroyed' });
  }
  emit({ type: 'run.finished', status: failing ? 'failed' : 'passed', exitCode: failing ? 1 : 0, durationMs: t + 10 - (o.start ?? 1_700_000_000_000), ...(failing ? { error: '1 step failed' } : {}) });
  return bus.history;
}
