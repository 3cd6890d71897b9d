// Wires a run's event bus to its readers: the SQLite recorder (always), the reporters chosen by --reporter or
// harness.config.yaml (terminal by default), and --json (the run report on stdout; the terminal then uses stderr).
import type { EventBus, Subscriber } from '../events.js';
import type { HarnessPaths } from '../paths.js';
import type { Plan } from '../plan.js';
import type { CliIo } from './command.js';
import { configFilePath, resolveReporters } from '../../reporters/registry.js';
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { runReportFromEvents, runReportJson } from '../store/run-report.js';

export interface Reporting {
  close(outcome: { exitCode: number }): Promise<void>;
}

export async function attachReporters(
  bus: EventBus,
  o: { spec?: string; json: boolean; io: CliIo; paths: HarnessPaths; plan: Plan },
): Promise<Reporting> {
  const stream = { write: (s: string) => (o.json ? o.io.err(s) : o.io.out(s)) };
  const chosen = await resolveReporters({
    flag: o.spec,
    configFile: configFilePath(o.paths.root),
    ctx: { cwd: o.io.cwd, env: o.io.env, stream, isTTY: o.io.isTTY && !o.json, columns: process.stdout.columns },
  });
  // The run is always recorded; an explicit `sqlite` reporter replaces the default recorder rather than doubling it.
  const explicitRecorder = chosen.some((s) => s instanceof SqliteRecorder);
  const subscribers: Subscriber[] = [...(explicitRecorder ? [] : [await SqliteRecorder.open(o.paths.db)]), ...chosen];
  for (const s of subscribers) bus.subscribe(s);
  return {
    async close() {
      await bus.close();
      if (o.json) o.io.out(runReportJson(runReportFromEvents(bus.history)));
    },
  };
}
