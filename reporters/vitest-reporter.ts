// A vitest reporter that records `npm test` runs in the same database as `harness run`: one run per test file,
// one step per test case. It writes nothing itself: it turns vitest's hooks into harness events on a bus per
// file and lets the SQLite recorder store them.
// A suite using the useScenario fixture records its own run (machines, VM timeline, console); the fixture puts that
// run's id into vitest meta and this reporter stores the ids on the file's run as options.scenarioRuns.
// Use: `vitest run --reporter=default --reporter=./reporters/vitest-reporter.ts` (database: HARNESS_DB or vms/harness.db).
import { hostname } from 'node:os';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { EventBus, type EventOf } from '../harness/events.js';
import { newRunId } from '../harness/store/run-id.js';
import { SqliteRecorder } from './sqlite-recorder.js';
import { scenarioRunsIn } from './vitest-link.js';

export interface VitestRecorderOptions {
  /** Database path; default HARNESS_DB, else vms/harness.db under the working directory. */
  db?: string;
}

interface ModuleRun {
  bus: EventBus;
  started: number;
  nextIndex: number;
  start: Omit<EventOf<'run.started'>, 'runId'>;
  module: TestModule;
  /** Scenario run ids already stored on this run. */
  linked: string[];
}

export default class HarnessVitestReporter implements Reporter {
  private recorder: Promise<SqliteRecorder> | undefined;
  private ready: SqliteRecorder | undefined;
  private readonly runs = new Map<string, ModuleRun>();

  constructor(private readonly options: VitestRecorderOptions = {}) {}

  /** Fires once per `vitest run` before any file: open (and migrate) the database. */
  async onTestRunStart(): Promise<void> {
    this.recorder ??= SqliteRecorder.open(this.options.db);
    this.ready = await this.recorder;
  }

  /** Fires when a file starts running: its run begins. */
  onTestModuleStart(m: TestModule): void {
    this.runFor(m);
  }

  /** Fires after a test and its hooks finished: one step. */
  onTestCaseResult(t: TestCase): void {
    const run = this.runFor(t.module);
    if (!run) return;
    const r = t.result();
    if (r.state === 'pending') return;
    const errors = r.errors ?? [];
    run.bus.emit({
      type: 'step.finished',
      index: run.nextIndex++,
      name: t.fullName,
      on: 'vitest',
      status: r.state,
      durationMs: Math.round(t.diagnostic()?.duration ?? 0),
      ...(errors.length ? { error: errors.map((e) => e.message).join('\n'), stderrTail: head(errors[0]?.stack ?? '') } : {}),
    });
  }

  /** Fires when every test of a file finished: the run's verdict. */
  onTestModuleEnd(m: TestModule): void {
    const run = this.runFor(m);
    if (!run) return;
    const state = m.state();
    const moduleErrors = m.errors();
    // A describe whose beforeAll/afterAll threw (e.g. a useScenario suite that did not boot) fails the file: say why.
    const suiteErrors = [...m.children.allSuites()].flatMap((s) => s.errors());
    const errors = moduleErrors.length ? moduleErrors : suiteErrors;
    linkScenarioRuns(run);
    const status = moduleErrors.length ? 'error' : state === 'failed' ? 'failed' : state === 'passed' || state === 'skipped' ? 'passed' : 'aborted';
    run.bus.emit({
      type: 'run.finished',
      status,
      exitCode: status === 'passed' ? 0 : status === 'failed' ? 1 : 3,
      durationMs: Date.now() - run.started,
      ...(errors.length ? { error: errors.map((e) => e.message).join('\n') } : {}),
    });
    this.runs.delete(m.moduleId);
  }

  /** Fires once at the end: files that never finished are recorded as aborted, then the database is closed. */
  async onTestRunEnd(): Promise<void> {
    for (const run of this.runs.values()) {
      linkScenarioRuns(run);
      run.bus.emit({ type: 'run.finished', status: 'aborted', exitCode: 3, durationMs: Date.now() - run.started, error: 'vitest ended before this file finished' });
    }
    this.runs.clear();
    await this.ready?.close();
    this.recorder = undefined;
    this.ready = undefined;
  }

  private runFor(m: TestModule): ModuleRun | undefined {
    const recorder = this.ready;
    if (!recorder) return undefined;
    let run = this.runs.get(m.moduleId);
    if (!run) {
      const file = m.relativeModuleId;
      const started = Date.now();
      const start = { type: 'run.started', at: started, scenario: file.replace(/\.(test|spec)\.[cm]?[jt]s$/, ''), file, host: hostname(), options: { runner: 'vitest', project: m.project.name || null } } as const;
      run = { bus: new EventBus(newRunId(), false), started, nextIndex: 0, start, module: m, linked: [] };
      run.bus.subscribe(recorder);
      run.bus.emit(start);
      this.runs.set(m.moduleId, run);
    }
    return run;
  }
}

/**
 * Stores the ids of the runs useScenario recorded for this file's suites (vitest meta of the file and its describes)
 * on this run's options as scenarioRuns: run.started again, with the same start, updates the run row's options.
 */
function linkScenarioRuns(run: ModuleRun): void {
  const m = run.module;
  const ids = [...new Set([m.meta(), ...[...m.children.allSuites()].map((s) => s.meta())].flatMap(scenarioRunsIn))];
  if (ids.length === run.linked.length) return;
  run.linked = ids;
  run.bus.emit({ ...run.start, options: { ...run.start.options, scenarioRuns: ids } });
}

/** The top of a stack says where the test failed; the bottom is vitest's own frames. */
function head(s: string, lines = 12): string {
  return s.split('\n').slice(0, lines).join('\n');
}
