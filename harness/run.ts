// `harness run`: boot the plan's machines, run its steps in order, tear down by policy, and say how it went.
// Exit codes: 0 all steps passed, 1 a step failed, 2 invalid input, 3 infrastructure failure.
import { hostname } from 'node:os';
import type { EventBus, RunStatus } from './events.js';
import { HarnessError, VmExited } from './errors.js';
import type { HarnessPaths } from './paths.js';
import type { Plan } from './plan.js';
import { Session } from './session.js';
import { runStep } from './steps/run-step.js';
import type { StepResult } from './steps/result.js';

export interface RunOutcome {
  runId: string;
  status: RunStatus;
  exitCode: number;
  steps: StepResult[];
  error?: unknown;
}

export interface RunContext {
  bus: EventBus;
  paths: HarnessPaths;
  signal?: AbortSignal;
  /** Recorded with the run (CLI flags and the like). */
  options?: Record<string, unknown>;
}

export async function runPlan(plan: Plan, ctx: RunContext): Promise<RunOutcome> {
  const { bus } = ctx;
  const started = Date.now();
  bus.emit({ type: 'run.started', scenario: plan.scenario.name, file: plan.file, host: hostname(), options: { teardown: plan.teardown, ...ctx.options } });
  const steps: StepResult[] = [];
  let session: Session | undefined;
  let outcome: Omit<RunOutcome, 'runId' | 'steps'>;
  try {
    session = await Session.boot(plan, ctx);
    outcome = await runSteps(plan, session, ctx, steps);
  } catch (e) {
    outcome = failure(e, ctx.signal);
  }
  if (session) {
    try {
      await session.teardown(outcome.status !== 'passed');
    } catch (e) {
      bus.emit({ type: 'log', level: 'error', message: `teardown failed: ${(e as Error).message}` });
    }
  }
  bus.emit({
    type: 'run.finished',
    status: outcome.status,
    exitCode: outcome.exitCode,
    durationMs: Date.now() - started,
    error: outcome.error ? (outcome.error as Error).message ?? String(outcome.error) : undefined,
  });
  return { runId: bus.runId, steps, ...outcome };
}

async function runSteps(plan: Plan, session: Session, ctx: RunContext, results: StepResult[]): Promise<Omit<RunOutcome, 'runId' | 'steps'>> {
  const emit = ctx.bus.emit.bind(ctx.bus);
  for (const [index, step] of plan.scenario.steps.entries()) {
    if (ctx.signal?.aborted) return aborted(plan, index, ctx.signal, emit);
    let result: StepResult;
    try {
      // The run's signal kills the step's command on SIGINT/SIGTERM; runStep then reports the step and rethrows.
      result = await runStep(step, session.target(step.on), { emit, index, baseDir: plan.dir, signal: ctx.signal });
    } catch (e) {
      if (ctx.signal?.aborted) return aborted(plan, index + 1, ctx.signal, emit);
      // The machine was lost under the step (runStep already reported it): say whether the VM itself died.
      const cause = await session.explainFailure(step.on, e);
      skipRest(plan, index + 1, emit);
      if (!(cause instanceof VmExited)) throw cause;
      emit({ type: 'vm.event', vm: cause.vm, kind: 'ErrorOccurred', severity: 'Critical', message: cause.message });
      return { status: 'failed', exitCode: 3, error: cause };
    }
    results.push(result);
    // Finished in spite of the abort (it ended first, or could not be cancelled): the run still ends here.
    if (ctx.signal?.aborted) return aborted(plan, index + 1, ctx.signal, emit);
    if (result.status === 'failed') {
      const cause = await session.explainFailure(step.on, new Error(result.error ?? 'step failed'));
      if (cause instanceof VmExited) {
        emit({ type: 'vm.event', vm: cause.vm, kind: 'ErrorOccurred', severity: 'Critical', message: cause.message });
        skipRest(plan, index + 1, emit);
        return { status: 'failed', exitCode: 3, error: cause };
      }
      skipRest(plan, index + 1, emit);
      return { status: 'failed', exitCode: 1, error: new Error(`step "${step.name}" failed: ${result.error ?? ''}`) };
    }
  }
  return { status: 'passed', exitCode: 0 };
}

/** The run was interrupted: steps from `from` on never run. */
function aborted(plan: Plan, from: number, signal: AbortSignal, emit: EventBus['emit']): Omit<RunOutcome, 'runId' | 'steps'> {
  skipRest(plan, from, emit);
  return failure(signal.reason, signal);
}

function skipRest(plan: Plan, from: number, emit: EventBus['emit']): void {
  plan.scenario.steps.slice(from).forEach((s, i) => emit({ type: 'step.finished', index: from + i, name: s.name, on: s.on, status: 'skipped', durationMs: 0 }));
}

function failure(e: unknown, signal?: AbortSignal): Omit<RunOutcome, 'runId' | 'steps'> {
  if (signal?.aborted) return { status: 'aborted', exitCode: signalExitCode(signal.reason), error: e };
  if (e instanceof HarnessError) return { status: e.exitCode === 2 ? 'invalid' : 'error', exitCode: e.exitCode, error: e };
  return { status: 'error', exitCode: 3, error: e };
}

/** 130 for SIGINT, 143 for SIGTERM (128 + signal number), as shells report them. */
export function signalExitCode(reason: unknown): number {
  const s = String((reason as Error)?.message ?? reason);
  return s.includes('SIGTERM') ? 143 : 130;
}
