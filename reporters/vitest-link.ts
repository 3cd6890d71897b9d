// The link between the vitest reporter's run for a test file and the runs useScenario records for its suites:
// the fixture (in the worker) adds its run id to the suite's vitest meta, vitest sends meta to the reporter (in the
// main process), and the reporter stores the ids on its run's options as `scenarioRuns`.

/** The vitest task meta key holding the ids of the harness runs a suite recorded. */
export const SCENARIO_RUNS_META = 'harnessScenarioRuns';

type Meta = object;

/** Adds a run id to a suite's (or file's) meta. */
export function addScenarioRun(meta: Meta, runId: string): void {
  const m = meta as Record<string, unknown>;
  m[SCENARIO_RUNS_META] = [...scenarioRunsIn(meta), runId];
}

/** The run ids recorded in one task's meta (none when absent or malformed). */
export function scenarioRunsIn(meta: Meta | undefined): string[] {
  const v = (meta as Record<string, unknown> | undefined)?.[SCENARIO_RUNS_META];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
