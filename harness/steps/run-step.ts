// Runs one scenario step on a target and reports it: step.started, then step.finished with the same
// fields as the returned StepResult. An expectation that does not hold is a failed result (not a throw);
// losing the machine (connection lost, VM exited) is thrown after step.finished, since later steps can't run, and so
// is an abort of the run (ctx.signal): the command is killed and the signal's reason rethrown. In between, each
// command's line and output go out as vm.log events (command-log.ts), and step.finished says how many bytes the
// output cap dropped (targets keep the end of each stream).
import { resolveInputPath } from '../scenario/rules.js';
import { AssertionFailed, HostKeyMismatch, SshConnectFailed, SshConnectionLost, VmExited } from '../errors.js';
import type { EmittedEvent } from '../events.js';
import { realClock, type Clock } from '../retry.js';
import type { Step } from '../scenario/schema.js';
import type { ExecResult, Target } from '../targets/target.js';
import { checkAssertion, checkCommand, exitDescription, type Observation } from './checks.js';
import { loggingTarget } from './command-log.js';
import { describeMatcher, matches } from './matchers.js';
import { tailText, type StepKind, type StepResult } from './result.js';
import { retryCheck } from './retry-check.js';

export interface StepContext {
  emit: (e: EmittedEvent) => void;
  index: number;
  clock?: Clock;
  /** Local paths of copy steps resolve against this (the scenario file's folder). */
  baseDir: string;
  /** The run's abort: kills the step's command, stops retries at once; runStep then rethrows the signal's reason. */
  signal?: AbortSignal;
}

/** How often `within` retries an assertion. */
export const ASSERT_RETRY_INTERVAL_MS = 1_000;

interface Outcome {
  ok: boolean;
  summary: string;
  attempts: number;
  result?: ExecResult;
}

export async function runStep(step: Step, target: Target, ctx: StepContext): Promise<StepResult> {
  const clock = ctx.clock ?? realClock;
  const kind = stepKind(step);
  const started = clock.now();
  ctx.emit({ type: 'step.started', index: ctx.index, name: step.name, on: step.on });
  let outcome: Outcome;
  try {
    // Every command the step runs reaches the bus line by line (vm.log), and so the record's command_logs.
    outcome = await perform(step, kind, loggingTarget(target, step.on, ctx.emit), ctx, clock);
  } catch (e) {
    const aborted = ctx.signal?.aborted === true;
    outcome = { ok: false, summary: aborted ? `aborted (${reasonText(ctx.signal!.reason)})` : (e as Error).message, attempts: 1 };
    if (isMachineLost(e) || aborted) {
      emitFinished(ctx, toResult(step, kind, ctx.index, outcome, clock.now() - started));
      throw e;
    }
  }
  const result = toResult(step, kind, ctx.index, outcome, clock.now() - started);
  emitFinished(ctx, result);
  return result;
}

function stepKind(step: Step): StepKind {
  if ('run' in step) return 'run';
  if ('assert' in step) return 'assert';
  if ('waitUntil' in step) return 'waitUntil';
  if ('copyTo' in step) return 'copyTo';
  return 'copyFrom';
}

async function perform(step: Step, kind: StepKind, target: Target, ctx: StepContext, clock: Clock): Promise<Outcome> {
  const { signal } = ctx;
  if ('run' in step) {
    const result = await target.exec(step.run, { timeoutMs: step.timeout, signal });
    const problems = runProblems(result, step.expect);
    return { ok: problems.length === 0, summary: problems.join('; ') || 'expectations held', attempts: 1, result };
  }
  if ('assert' in step) {
    const within = step.within;
    if (within === undefined) return single(await checkAssertion(target, step.assert, { timeoutMs: step.timeout, signal }));
    const timeoutMs = Math.min(step.timeout, within);
    const r = await retryCheck(() => checkAssertion(target, step.assert, { timeoutMs, signal }), {
      timeoutMs: within,
      intervalMs: ASSERT_RETRY_INTERVAL_MS,
      clock,
      signal,
    });
    return retried(r.last, r.attempts, within);
  }
  if ('waitUntil' in step) {
    const w = step.waitUntil;
    const timeoutMs = Math.min(step.timeout, w.timeout);
    const r = await retryCheck(() => checkCommand(target, w.command, { timeoutMs, signal }), {
      timeoutMs: w.timeout,
      intervalMs: w.interval,
      clock,
      signal,
    });
    return retried(r.last, r.attempts, w.timeout);
  }
  if ('copyTo' in step) {
    await target.copyTo(resolveInputPath(ctx.baseDir, step.copyTo.from), step.copyTo.to, { signal });
    return { ok: true, summary: 'copied', attempts: 1 };
  }
  await target.copyFrom(step.copyFrom.from, resolveInputPath(ctx.baseDir, step.copyFrom.to), { signal });
  return { ok: true, summary: 'copied', attempts: 1 };
}

/** Every way a `run` result misses its `expect` block; exitCode defaults to 0 even when only matchers are given. */
function runProblems(r: ExecResult, expect: Extract<Step, { run: string }>['expect']): string[] {
  if (r.timedOut || r.signal) return [exitDescription(r)];
  const problems: string[] = [];
  const wantExit = expect.exitCode ?? 0;
  if (r.exitCode !== wantExit) problems.push(`exit code ${r.exitCode}, expected ${wantExit}`);
  if (expect.stdout && !matches(expect.stdout, r.stdout)) problems.push(`stdout does not ${describeMatcher(expect.stdout)}`);
  if (expect.stderr && !matches(expect.stderr, r.stderr)) problems.push(`stderr does not ${describeMatcher(expect.stderr)}`);
  return problems;
}

function single(o: Observation): Outcome {
  return { ok: o.ok, summary: o.summary, attempts: 1, result: o.result };
}

function retried(last: Observation, attempts: number, timeoutMs: number): Outcome {
  const summary = last.ok ? last.summary : `${last.summary} (still failing after ${timeoutMs} ms, ${attempts} attempts)`;
  return { ok: last.ok, summary, attempts, result: last.result };
}

function toResult(step: Step, kind: StepKind, index: number, o: Outcome, durationMs: number): StepResult {
  const r = o.result;
  const stdoutTail = r ? tailText(r.stdout) : undefined;
  const stderrTail = r ? tailText(r.stderr) : undefined;
  const summary = `step "${step.name}" on ${step.on}: ${o.summary}`;
  const failure = o.ok ? undefined : new AssertionFailed(summary, { command: r?.command, exitCode: r?.exitCode, stdoutTail, stderrTail });
  return {
    index,
    name: step.name,
    on: step.on,
    kind,
    status: o.ok ? 'passed' : 'failed',
    durationMs,
    attempts: o.attempts,
    command: r?.command,
    exitCode: r?.exitCode,
    stdoutTail,
    stderrTail,
    droppedBytes: r ? { ...r.droppedBytes } : undefined,
    outputCapBytes: r?.maxOutputBytes,
    error: o.ok ? undefined : summary,
    failure,
  };
}

function emitFinished(ctx: StepContext, r: StepResult): void {
  ctx.emit({
    type: 'step.finished',
    index: r.index,
    name: r.name,
    on: r.on,
    status: r.status,
    durationMs: r.durationMs,
    ...(r.command !== undefined ? { command: r.command } : {}),
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.stdoutTail !== undefined ? { stdoutTail: r.stdoutTail } : {}),
    ...(r.stderrTail !== undefined ? { stderrTail: r.stderrTail } : {}),
    ...(r.droppedBytes !== undefined ? { droppedBytes: r.droppedBytes } : {}),
    ...(r.outputCapBytes !== undefined ? { outputCapBytes: r.outputCapBytes } : {}),
  });
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** Errors that mean the machine itself is gone or unreachable: no later step can run either. */
function isMachineLost(e: unknown): boolean {
  return e instanceof SshConnectionLost || e instanceof VmExited || e instanceof SshConnectFailed || e instanceof HostKeyMismatch;
}
