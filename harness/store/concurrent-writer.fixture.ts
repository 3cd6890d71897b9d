// Child process for concurrent.test.ts: records one run of `steps` steps into a shared database through the
// real recorder, flushing every few events so the writers' transactions interleave.
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { EventBus } from '../events.js';

const [dbPath, runId, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const rec = await SqliteRecorder.open(dbPath!, { flushEvery: 25, logCapPerVm: 1_000_000 });
const bus = new EventBus(runId!, false);
bus.subscribe(rec);
bus.emit({ type: 'run.started', scenario: 'concurrency', file: 'f', host: 'h', options: { child: runId } });
for (let i = 0; i < steps; i++) {
  bus.emit({ type: 'vm.log', vm: 'web', stream: 'console', line: `${runId} line ${i}` });
  bus.emit({ type: 'step.finished', index: i, name: `step ${i}`, on: 'web', status: 'passed', durationMs: 1 });
}
bus.emit({ type: 'run.finished', status: 'passed', exitCode: 0, durationMs: 1 });
await bus.close();
