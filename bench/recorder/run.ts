// Benchmark (not a test): how fast events go into the store, and how much of a run's wall time the recorder takes.
// Run: npx tsx bench/recorder/run.ts [events]   (default 100,000; goal >= 20,000 events/s)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventBus, type EmittedEvent } from '../../harness/events.js';
import { SqliteRecorder, type RecorderOptions } from '../../reporters/sqlite-recorder.js';

const total = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'harness-bench-recorder-'));

/** The mix a real run produces: mostly console lines, some status changes, steps and tasks. */
function eventAt(i: number): EmittedEvent {
  const vm = `vm${i % 4}`;
  switch (i % 50) {
    case 0:
      return { type: 'vm.status', vm, from: 'Starting', to: 'Running' };
    case 1:
      return { type: 'step.finished', index: i, name: `step ${i}`, on: vm, status: i % 7 ? 'passed' : 'failed', durationMs: 12, command: 'systemctl is-active sshd', exitCode: 0, stdoutTail: 'active' };
    case 2:
      return { type: 'vm.event', vm, kind: 'SystemEvent', severity: 'Info', message: 'probe ok', details: { i } };
    case 3:
      return { type: 'task', vm, provider: 'proxmox', taskId: `UPID:pve:${i}`, operation: 'qmstart', status: 'stopped', exitStatus: 'OK' };
    default:
      return { type: 'vm.log', vm, stream: 'console', line: `[${(i / 1000).toFixed(3)}] virtio_net virtio0 eth0: link up, speed 1000 Mbps (line ${i})` };
  }
}

async function throughput(label: string, n: number, opts: RecorderOptions): Promise<void> {
  const rec = await SqliteRecorder.open(join(dir, `${label}.db`), opts);
  const bus = new EventBus(`bench-${label}`, false);
  bus.subscribe(rec);
  const t0 = performance.now();
  bus.emit({ type: 'run.started', scenario: 'bench', file: 'bench', host: 'bench', options: {} });
  for (let i = 0; i < n; i++) bus.emit(eventAt(i));
  bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 0 });
  await bus.close();
  const ms = performance.now() - t0;
  const s = rec.stats();
  console.log(`${label.padEnd(28)} ${String(n).padStart(7)} events in ${ms.toFixed(0).padStart(6)} ms = ${Math.round((n / ms) * 1000).toLocaleString('en-US').padStart(8)} events/s  (${s.flushes} transactions)`);
}

/** A paced run: bursts of console output with idle gaps, like a TCG boot; share = recorder busy time / wall time. */
async function share(): Promise<void> {
  const rec = await SqliteRecorder.open(join(dir, 'share.db'));
  const bus = new EventBus('bench-share', false);
  bus.subscribe(rec);
  const t0 = performance.now();
  bus.emit({ type: 'run.started', scenario: 'bench', file: 'bench', host: 'bench', options: {} });
  let i = 0;
  for (let tick = 0; tick < 40; tick++) {
    for (let k = 0; k < 100; k++) bus.emit(eventAt(i++)); // 100 events per 50 ms = 2,000 events/s, a chatty console
    await sleep(50);
  }
  bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 0 });
  await bus.close();
  const wall = performance.now() - t0;
  const s = rec.stats();
  console.log(
    `recorder share of a paced run: ${s.busyMs.toFixed(1)} ms busy of ${wall.toFixed(0)} ms wall = ${((s.busyMs / wall) * 100).toFixed(2)} % ` +
      `(${s.events} events, ${s.flushes} transactions, ${(s.busyMs / s.events * 1000).toFixed(1)} us/event)`,
  );
}

try {
  console.log(`node ${process.version}, ${total.toLocaleString('en-US')} events, database in ${dir}`);
  await throughput('batched (default)', total, {});
  await throughput('batched, flush every 100', total, { flushEvery: 100 });
  await throughput('one transaction per event', Math.min(total, 5_000), { flushEvery: 1 });
  await share();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
