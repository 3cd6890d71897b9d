// Wires a run's event bus to its readers: the SQLite recorder (always), the reporters chosen by --reporter or
// harness.config.yaml (terminal by default), and --json (the run report on stdout; the terminal then uses stderr).
// The recorder keeps --log-lines / $HARNESS_LOG_LINES / `logLines:` / 500 command_logs lines per VM, and each
// report file (junit, html, json) is recorded as a `report` artifact of the run, so `harness runs show` lists it.
import type { EventBus, Subscriber } from '../events.js';
import type { HarnessPaths } from '../paths.js';
import type { Plan } from '../plan.js';
import type { CliIo } from './command.js';
import { configFilePath, createReporters, reportFileOf, resolveReporterSpecs } from '../../reporters/registry.js';
import { resolveLogLines } from '../../reporters/log-lines.js';
import { SqliteRecorder } from '../../reporters/sqlite-recorder.js';
import { runReportFromEvents } from '../store/run-report-from-events.js';
import { runReportJson } from '../store/run-report.js';

export interface Reporting {
  close(outcome: { exitCode: number }): Promise<void>;
}

export async function attachReporters(
  bus: EventBus,
  o: { spec?: string; json: boolean; io: CliIo; paths: HarnessPaths; plan: Plan; logLines?: number },
): Promise<Reporting> {
  const stream = { write: (s: string) => (o.json ? o.io.err(s) : o.io.out(s)) };
  const configFile = configFilePath(o.paths.root);
  const { lines: logLines } = await resolveLogLines({ flag: o.logLines, env: o.io.env, configFile });
  const ctx = { cwd: o.io.cwd, env: o.io.env, stream, isTTY: o.io.isTTY && !o.json, columns: process.stdout.columns, logLines };
  const specs = await resolveReporterSpecs({ flag: o.spec, configFile, ctx });
  const reportFiles = specs.map((s) => reportFileOf(s, ctx)).filter((p): p is string => p !== undefined);
  const chosen = await createReporters(specs, ctx);
  // The run is always recorded; an explicit `sqlite` reporter replaces the default recorder rather than doubling it.
  const explicitRecorder = chosen.some((s) => s instanceof SqliteRecorder);
  const recorder = explicitRecorder ? [] : [await SqliteRecorder.open(o.paths.db, { logCapPerVm: logLines })];
  let started = false;
  const watch: Subscriber = { onEvent: (e) => void (e.type === 'run.started' && (started = true)) };
  for (const s of [watch, ...recorder, ...chosen]) bus.subscribe(s);
  return {
    async close() {
      // Announced before the reporters close (and write them), so the JSON report lists the same artifacts as
      // `runs show --json`. Only for a run that started: there is no run row to attach them to otherwise.
      if (started) for (const path of reportFiles) bus.emit({ type: 'artifact', kind: 'report', path });
      await bus.close();
      if (o.json) o.io.out(runReportJson(runReportFromEvents(bus.history)));
    },
  };
}
