// Realistic event sequences for reporter tests: what the orchestrator emits for a passing run, a run with a
// failed step on one of two VMs, and a run where one VM never answers SSH. Timestamps are fixed (no clock), so
// durations in the output are predictable and tests can compare them.
import type { EmittedEvent, HarnessEvent } from '../../harness/events.js';

export const SAMPLE_START = Date.UTC(2025, 0, 15, 9, 30, 0);

/** Builds one run's events on a virtual clock: `wait(ms)` moves time, `emit` stamps the current time. */
export class EventScript {
  readonly events: HarnessEvent[] = [];
  private now: number;
  constructor(readonly runId: string, start = SAMPLE_START) {
    this.now = start;
  }
  wait(ms: number): this {
    this.now += ms;
    return this;
  }
  get time(): number {
    return this.now;
  }
  emit(e: EmittedEvent): this {
    this.events.push({ ...e, runId: this.runId, at: e.at ?? this.now } as HarnessEvent);
    return this;
  }
}

const TINY_CONSOLE = [
  'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
  'Booting from DVD/CD...',
  'GRUB loading.',
  '[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)',
  '[    1.204518] virtio_net virtio0 eth0: renamed',
  '[    3.881200] random: crng init done',
  'tiny-init: network 10.0.2.15/24 up',
  'tiny-init: dropbear listening on :22',
];
/** A guest stuck in early boot: panic text, with the escape codes and control bytes a real serial console carries. */
const PANIC_CONSOLE = [
  ...TINY_CONSOLE.slice(0, 4),
  '\x1b[0;31mKernel panic - not syncing: VFS: Unable to mount root fs\x1b[0m',
  'end Kernel panic <unknown-block(0,0)> & halt\x07\x00',
];

/** The serial console file qemu writes for a VM (vms/<vm>/<vm>.log); tests write it where the artifact points. */
export function sampleConsoleLog(vm: string): string {
  return (vm === 'client' ? PANIC_CONSOLE : TINY_CONSOLE).join('\r\n') + '\r\n';
}

/** Where the fixtures' artifact events say each VM's console log is, relative to the report's base dir. */
export function sampleConsolePath(vm: string): string {
  return `vms/${vm}/${vm}.log`;
}

interface BootOptions {
  vm: string;
  sshPort: number;
  reuseImage: boolean;
  /** How long until SSH answers; undefined = never (boot timeout). */
  readyAfterMs?: number;
  bootTimeoutMs?: number;
  /** Also stream console lines as vm.log events (the file is always there). */
  consoleEvents?: boolean;
  console?: string[];
}

/** What session.bootOne + the qemu provider + readiness emit: image, accel, Starting, created, waiting..., ready. */
function boot(s: EventScript, o: BootOptions): void {
  s.emit({ type: 'image.started', vm: o.vm, builder: 'tiny' });
  s.wait(o.reuseImage ? 40 : 12_300);
  s.emit({
    type: 'image.finished',
    vm: o.vm,
    builder: 'tiny',
    path: `/work/.harness/cache/tiny-3f2a9c/image.iso`,
    cacheKey: '3f2a9c81d0e4b7aa',
    reused: o.reuseImage,
    durationMs: o.reuseImage ? 40 : 12_300,
  });
  s.emit({ type: 'vm.accel', vm: o.vm, accel: 'tcg', reason: '/dev/kvm present but the probe guest hung (no vmx/svm)' });
  s.wait(60).emit({ type: 'vm.status', vm: o.vm, from: 'Stopped', to: 'Starting', message: 'qemu-system-x86_64 tcg' });
  s.wait(250).emit({
    type: 'vm.created',
    vm: o.vm,
    provider: 'qemu',
    arch: 'x86_64',
    cpus: 1,
    memoryMiB: 256,
    disk: `vms/${o.vm}/disk.qcow2`,
    sshPort: o.sshPort,
    dir: `vms/${o.vm}`,
  });
  s.emit({ type: 'artifact', vm: o.vm, kind: 'console-log', path: sampleConsolePath(o.vm) });
  const consoleLines = o.console ?? TINY_CONSOLE;
  const limit = o.readyAfterMs ?? o.bootTimeoutMs ?? 30_000;
  let elapsed = 0;
  let line = 0;
  while (elapsed + 1000 <= limit) {
    if (o.consoleEvents && line < consoleLines.length && elapsed % 2000 === 0) {
      s.emit({ type: 'vm.log', vm: o.vm, stream: 'console', line: consoleLines[line++]! });
    }
    s.emit({
      type: 'vm.waiting',
      vm: o.vm,
      phase: elapsed < 8000 ? 'tcp' : 'handshake',
      elapsedMs: elapsed,
      ...(elapsed < 8000 ? {} : { lastError: 'Timed out while waiting for handshake' }),
    });
    s.wait(1000);
    elapsed += 1000;
  }
  s.wait(limit - elapsed);
  if (o.consoleEvents) while (line < consoleLines.length) s.emit({ type: 'vm.log', vm: o.vm, stream: 'console', line: consoleLines[line++]! });
  if (o.readyAfterMs !== undefined) {
    s.emit({ type: 'vm.ready', vm: o.vm, elapsedMs: limit });
    s.emit({ type: 'vm.status', vm: o.vm, from: 'Starting', to: 'Running', message: `SSH ready on 127.0.0.1:${o.sshPort}` });
  }
  // A boot timeout emits nothing of its own: readiness throws BootTimeout and the run ends with its message.
}

interface StepOptions {
  index: number;
  name: string;
  on: string;
  command: string;
  durationMs: number;
  exitCode: number;
  stdout?: string;
  stderr?: string;
  error?: string;
}

function step(s: EventScript, o: StepOptions): void {
  s.emit({ type: 'step.started', index: o.index, name: o.name, on: o.on });
  if (o.stdout) for (const l of o.stdout.split('\n')) s.emit({ type: 'vm.log', vm: o.on, stream: 'command', line: l });
  s.wait(o.durationMs);
  const failed = o.exitCode !== 0 || o.error !== undefined;
  s.emit({
    type: 'step.finished',
    index: o.index,
    name: o.name,
    on: o.on,
    status: failed ? 'failed' : 'passed',
    durationMs: o.durationMs,
    command: o.command,
    exitCode: o.exitCode,
    ...(failed ? { error: o.error ?? `expected exit code 0, got ${o.exitCode}` } : {}),
    ...(o.stdout !== undefined ? { stdoutTail: o.stdout } : {}),
    ...(o.stderr !== undefined ? { stderrTail: o.stderr } : {}),
  });
  s.wait(30);
}

function teardown(s: EventScript, vm: string, policy: 'destroy' | 'keep' | 'keep-on-failure', kept: boolean, port = 22220): void {
  s.emit({ type: 'teardown.started', vm, policy });
  if (kept) {
    s.wait(15).emit({
      type: 'teardown.finished',
      vm,
      policy,
      action: 'kept',
      hint: `harness vm ssh ${vm}   or   ssh -i .harness/keys/id_ed25519 -p ${port} -o UserKnownHostsFile=vms/${vm}/known_hosts root@127.0.0.1`,
    });
    return;
  }
  s.emit({ type: 'vm.status', vm, from: 'Running', to: 'Stopping' });
  s.wait(850);
  s.emit({ type: 'vm.status', vm, from: 'Stopping', to: 'NotCreated' });
  s.emit({ type: 'teardown.finished', vm, policy, action: 'destroyed' });
}

function started(s: EventScript, scenario: string): void {
  s.emit({
    type: 'run.started',
    scenario,
    file: `scenarios/${scenario}.yaml`,
    host: 'ci-runner-7',
    options: { reporters: 'terminal', teardown: 'keep-on-failure' },
  });
}

function finished(s: EventScript, start: number, status: 'passed' | 'failed' | 'error', error?: string): void {
  s.emit({
    type: 'run.finished',
    status,
    exitCode: status === 'passed' ? 0 : status === 'failed' ? 1 : 3,
    durationMs: s.time - start,
    ...(error ? { error } : {}),
  });
}

/** One VM, image reused, three passing steps (one of them 10x longer than another), destroyed at the end. */
export function passedRun(runId = 'run-passed-01'): HarnessEvent[] {
  const s = new EventScript(runId);
  const t0 = s.time;
  started(s, 'smoke');
  boot(s, { vm: 'server', sshPort: 22220, reuseImage: true, readyAfterMs: 13_000 });
  step(s, { index: 0, name: 'kernel is Linux', on: 'server', command: 'uname -s', durationMs: 400, exitCode: 0, stdout: 'Linux' });
  step(s, { index: 1, name: 'network is up', on: 'server', command: 'ip -o addr show eth0', durationMs: 600, exitCode: 0, stdout: '2: eth0    inet 10.0.2.15/24 scope global eth0' });
  step(s, { index: 2, name: 'disk has space', on: 'server', command: 'df -h /', durationMs: 4000, exitCode: 0, stdout: 'Filesystem Size Used Avail Use% Mounted on\nrootfs 120M 40M 80M 33% /' });
  teardown(s, 'server', 'destroy', false);
  finished(s, t0, 'passed');
  return s.events;
}

/**
 * Two VMs booted in parallel (server's image built, client's reused); step 2 on server fails with output tails
 * (hostile text included), step 3 is skipped as run.ts skips the rest; server is kept on failure, client destroyed.
 */
export function failedRun(runId = 'run-failed-02'): HarnessEvent[] {
  const s = new EventScript(runId);
  const t0 = s.time;
  started(s, 'web-stack');
  interleave(s, [
    (x) => boot(x, { vm: 'server', sshPort: 22220, reuseImage: false, readyAfterMs: 14_000 }),
    (x) => boot(x, { vm: 'client', sshPort: 22221, reuseImage: true, readyAfterMs: 11_000 }),
  ]);
  step(s, { index: 0, name: 'server answers ping', on: 'client', command: 'ping -c1 10.0.2.2', durationMs: 1200, exitCode: 0, stdout: '1 packets transmitted, 1 received' });
  step(s, {
    index: 1,
    name: 'nginx is active',
    on: 'server',
    command: 'systemctl is-active nginx && curl -s "http://localhost/?a=1&b=<2>"',
    durationMs: 2500,
    exitCode: 3,
    stdout: 'inactive\n<script>window.__pwned = 1</script>',
    stderr: 'Job for nginx.service failed because the control process exited with error code.\nnginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use) <"&\'>\x1b[31m red\x1b[0m',
  });
  s.emit({ type: 'step.finished', index: 2, name: 'client can fetch page', on: 'client', status: 'skipped', durationMs: 0 });
  teardown(s, 'server', 'keep-on-failure', true, 22220);
  teardown(s, 'client', 'keep-on-failure', false);
  finished(s, t0, 'failed', 'step "nginx is active" failed: expected exit code 0, got 3');
  return s.events;
}

/** Two VMs booted in parallel; client never answers SSH within its 30 s boot timeout, so no step runs. */
export function bootTimeoutRun(runId = 'run-timeout-03'): HarnessEvent[] {
  const s = new EventScript(runId);
  const t0 = s.time;
  started(s, 'two-node');
  interleave(s, [
    (x) => boot(x, { vm: 'server', sshPort: 22220, reuseImage: true, readyAfterMs: 12_000 }),
    (x) => boot(x, { vm: 'client', sshPort: 22221, reuseImage: true, bootTimeoutMs: 30_000, console: PANIC_CONSOLE, consoleEvents: true }),
  ]);
  teardown(s, 'server', 'destroy', false);
  teardown(s, 'client', 'destroy', false);
  const tail = PANIC_CONSOLE.slice(-3);
  finished(s, t0, 'error', `VM client did not answer SSH within 30s (last error: Timed out while waiting for handshake)\n--- last ${tail.length} console lines ---\n${tail.join('\n')}`);
  return s.events;
}

/** Runs several event scripts "in parallel": each on its own clock from now, merged in time order. */
function interleave(s: EventScript, parts: Array<(x: EventScript) => void>): void {
  const scripts = parts.map((f) => {
    const x = new EventScript(s.runId, s.time);
    f(x);
    return x;
  });
  const merged = scripts.flatMap((x) => x.events).sort((a, b) => a.at - b.at);
  s.events.push(...merged);
  s.wait(Math.max(...scripts.map((x) => x.time)) - s.time);
}

/** Feeds events to a subscriber in order, then closes it: what the orchestrator's bus does. */
export async function replay(sub: { onEvent(e: HarnessEvent): void; close?(): void | Promise<void> }, events: HarnessEvent[]): Promise<void> {
  for (const e of events) sub.onEvent(e);
  await sub.close?.();
}
