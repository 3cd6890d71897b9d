// The terminal reporter: live progress per VM while the run goes, and a summary at the end.
// On a TTY it colours lines and keeps one rewritten status line at the bottom (waiting-for-SSH seconds, the step
// being run); elsewhere (CI logs, pipes) it appends plain lines only and never writes an escape code unless
// colours are forced with FORCE_COLOR.
import type { HarnessEvent, Subscriber } from '../harness/events.js';
import { truncationNotes } from '../harness/steps/truncation.js';
import { bootFailure, keepHint, RunCollector, runEnd, stepCounts, type RunModel, type VmModel } from './run-model.js';
import { cleanText, formatDuration, tailLines } from './text.js';

export interface TerminalReporterOptions {
  stream: { write(s: string): unknown };
  /** Whether `stream` is a terminal: enables the rewritten status line. */
  isTTY: boolean;
  /** Force colours on or off; default: FORCE_COLOR, then NO_COLOR, then isTTY. */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Terminal width; the status line is cut to fit so it never wraps (a wrapped line can't be rewritten). */
  columns?: number;
  /** Lines of stdout/stderr/console shown per failure in the summary. */
  tailLines?: number;
}

/** Colour decision, in the order the conventions rank them: explicit flag, FORCE_COLOR, NO_COLOR, TTY. */
export function resolveColor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env, explicit?: boolean): boolean {
  if (explicit !== undefined) return explicit;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.toLowerCase());
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY;
}

type Paint = (s: string) => string;
interface Palette {
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
  dim: Paint;
  bold: Paint;
}

function palette(on: boolean): Palette {
  const p = (code: string): Paint => (on ? (s) => `\x1b[${code}m${s}\x1b[0m` : (s) => s);
  return { red: p('31'), green: p('32'), yellow: p('33'), cyan: p('36'), dim: p('2'), bold: p('1') };
}

const CLEAR_LINE = '\r\x1b[2K';
/** Non-TTY: repeat "waiting for SSH" at most once per this many seconds of boot. */
const WAIT_LOG_EVERY_S = 10;

export class TerminalReporter implements Subscriber {
  private readonly out: { write(s: string): unknown };
  private readonly tty: boolean;
  private readonly c: Palette;
  private readonly columns: number;
  private readonly tail: number;
  private readonly collector = new RunCollector({ consoleLines: 50 });
  private readonly summarized = new Set<string>();
  /** Non-TTY: last waiting second printed per VM. */
  private readonly waitPrinted = new Map<string, number>();
  private statusShown = '';
  private closed = false;

  constructor(o: TerminalReporterOptions) {
    this.out = o.stream;
    this.tty = o.isTTY;
    this.c = palette(resolveColor(o.isTTY, o.env ?? process.env, o.color));
    this.columns = Math.max(20, o.columns ?? 100);
    this.tail = o.tailLines ?? 20;
  }

  onEvent(e: HarnessEvent): void {
    if (this.closed) return;
    const r = this.collector.apply(e);
    const line = this.describe(e, r);
    if (line !== undefined) this.print(line);
    if (e.type === 'run.finished') this.summary(r);
    this.drawStatus();
  }

  close(): void {
    if (this.closed) return;
    for (const r of this.collector.runs.values()) if (!this.summarized.has(r.runId)) this.summary(r);
    this.clearStatus();
    this.closed = true;
  }

  /** One permanent line for an event, or undefined for events that only move the status line. */
  private describe(e: HarnessEvent, r: RunModel): string | undefined {
    const { c } = this;
    const tag = (vm: string) => c.cyan(`[${vm}]`);
    switch (e.type) {
      case 'run.started':
        return c.bold(`run ${text(e.scenario)}`) + c.dim(` (${text(e.file)}) on ${text(e.host)}, run ${e.runId}`);
      case 'image.finished':
        return e.reused
          ? `${tag(e.vm)} image ${e.builder}: reused from cache ${e.cacheKey.slice(0, 12)} ${c.dim(`(${formatDuration(e.durationMs)})`)}`
          : `${tag(e.vm)} image ${e.builder}: built in ${formatDuration(e.durationMs)}`;
      case 'vm.created':
        return (
          `${tag(e.vm)} created: ${e.provider} ${e.arch}, ${e.cpus} cpu, ${e.memoryMiB} MiB` +
          (e.sshPort !== undefined ? `, ssh 127.0.0.1:${e.sshPort}` : '')
        );
      case 'vm.accel':
        return `${tag(e.vm)} accel ${e.accel}` + c.dim(` (${text(e.reason)})`);
      case 'vm.status':
        if (e.to === 'Starting') return `${tag(e.vm)} booting`;
        if (e.to === 'Error') return `${tag(e.vm)} ${c.red(`status ${e.from} -> Error`)}${e.message ? ` (${text(e.message)})` : ''}`;
        return undefined;
      case 'vm.waiting': {
        if (this.tty) return undefined;
        const s = Math.floor(e.elapsedMs / 1000);
        const last = this.waitPrinted.get(key(e.runId, e.vm));
        if (last !== undefined && s < last + WAIT_LOG_EVERY_S) return undefined;
        this.waitPrinted.set(key(e.runId, e.vm), s);
        return `${tag(e.vm)} waiting for SSH (${s}s, ${e.phase}${e.lastError ? `: ${text(e.lastError)}` : ''})`;
      }
      case 'vm.ready':
        return `${tag(e.vm)} ${c.green('ready')}: SSH answered after ${formatDuration(e.elapsedMs)}`;
      case 'vm.event':
        if (e.severity === 'Info') return undefined;
        return `${tag(e.vm)} ${e.severity === 'Warning' ? c.yellow('warning') : c.red('error')}: ${text(e.message)}`;
      case 'step.finished': {
        const mark = e.status === 'passed' ? c.green(this.tty ? '✓' : 'PASS') : e.status === 'failed' ? c.red(this.tty ? '✗' : 'FAIL') : c.yellow(this.tty ? '-' : 'SKIP');
        const head = `${tag(e.on)} ${mark} step ${e.index + 1} "${text(e.name)}" ${c.dim(`(${formatDuration(e.durationMs)})`)}`;
        // Said for passed steps too: an expectation may have held on output that was partly thrown away.
        const cut = truncationNotes(e.droppedBytes, e.outputCapBytes).map((n) => `\n      ${c.yellow(n)}`).join('');
        if (e.status !== 'failed') return head + cut;
        const why = e.error ?? (e.exitCode !== undefined ? `exit code ${e.exitCode}` : 'failed');
        return `${head}\n      ${c.red(text(why))}${cut}`;
      }
      case 'teardown.finished': {
        const v = r.vms.get(e.vm);
        const took = v?.teardown?.end !== undefined ? c.dim(` (${formatDuration(v.teardown.end - v.teardown.start)})`) : '';
        const hint = v ? keepHint(v) : undefined;
        return `${tag(e.vm)} teardown (${e.policy}): ${e.action}${took}` + (hint ? `; reach it with: ${c.bold(text(hint))}` : '');
      }
      case 'container.state':
        return `${tag(e.name)} container ${text(e.image)}: ${text(e.status)}` + e.ports.map((p) => ` ${p.container}->127.0.0.1:${p.host}`).join('');
      case 'task':
        return e.status === 'stopped' ? `${e.vm ? tag(e.vm) + ' ' : ''}${e.provider} task ${e.operation}: ${text(e.exitStatus ?? 'done')}` : undefined;
      case 'log':
        return e.level === 'info' ? text(e.message) : `${e.level === 'warn' ? c.yellow('warning') : c.red('error')}: ${text(e.message)}`;
      default:
        return undefined;
    }
  }

  private summary(r: RunModel): void {
    this.summarized.add(r.runId);
    const { c } = this;
    const counts = stepCounts(r);
    const ok = r.status === 'passed';
    const took = formatDuration(r.durationMs ?? runEnd(r) - r.startedAt);
    const lines: string[] = [''];
    const verdict = r.status === 'running' ? 'DID NOT FINISH' : r.status.toUpperCase();
    lines.push(c.bold(`Summary: ${text(r.scenario)} `) + (ok ? c.green(verdict) : c.red(verdict)) + ` in ${took}` + (r.exitCode !== undefined ? ` (exit ${r.exitCode})` : ''));
    lines.push(
      `  ${counts.total} steps (` +
        [counts.passed ? c.green(`${counts.passed} passed`) : '0 passed', counts.failed ? c.red(`${counts.failed} failed`) : '0 failed', `${counts.skipped} skipped`].join(', ') +
        ')',
    );
    for (const v of r.vms.values()) lines.push(`  ${c.cyan(v.name)}: ${vmSummary(v)}`);

    const failures: string[][] = [];
    for (const s of r.steps) {
      if (s.status !== 'failed' && s.status !== 'running') continue;
      const f = [`step ${s.index + 1} "${text(s.name)}" on ${text(s.on)}` + (s.durationMs !== undefined ? ` (${formatDuration(s.durationMs)})` : ' (did not finish)')];
      if (s.command !== undefined) f.push(`   command:   ${text(s.command)}`);
      if (s.exitCode !== undefined) f.push(`   exit code: ${s.exitCode === null ? 'none (killed or disconnected)' : s.exitCode}`);
      if (s.error) f.push(`   error:     ${text(s.error)}`);
      f.push(...truncationNotes(s.droppedBytes, s.outputCapBytes).map((n) => `   ${c.yellow(n)}`));
      f.push(...this.block('stdout', s.stdoutTail), ...this.block('stderr', s.stderrTail));
      failures.push(f);
    }
    let runErrorShown = r.status === 'failed' && r.steps.some((x) => x.status === 'failed');
    const [errorHead, ...errorRest] = (r.error ?? '').split('\n');
    for (const v of r.vms.values()) {
      const boot = bootFailure(r, v);
      const msgs = v.errors.map((x) => x.message);
      if (boot && !msgs.includes(boot)) msgs.unshift(boot);
      if (msgs.length === 0) continue;
      const f = [`${v.name}: ${text(msgs[0]!)}`, ...msgs.slice(1).map((m) => `   also: ${text(m)}`)];
      const cons = v.console.toArray();
      if (cons.length) f.push(...this.block('console', cons.join('\n')));
      else if (boot === errorHead && errorRest.length) f.push(...errorRest.map((l) => this.c.dim(`     | ${text(l)}`)));
      if (v.consoleLogPath) f.push(`   console log: ${text(v.consoleLogPath)}`);
      if (boot === errorHead) runErrorShown = true;
      failures.push(f);
    }
    if (r.error && !runErrorShown) failures.push([`run: ${text(errorHead!)}`, ...errorRest.map((l) => `     ${text(l)}`)]);
    if (failures.length) {
      lines.push(c.red(c.bold('Failures:')));
      failures.forEach((f, i) => lines.push(`  ${i + 1}. ${f[0]}`, ...f.slice(1).map((l) => `  ${l}`)));
    }
    const kept = [...r.vms.values()].map(keepHint).filter((h): h is string => h !== undefined);
    if (kept.length) lines.push(`Kept for inspection: ${kept.map((h) => c.bold(text(h))).join(', ')}`);
    this.print(lines.join('\n'));
  }

  /** An indented tail block: "stdout (last N lines):" followed by the lines. */
  private block(label: string, body: string | undefined): string[] {
    if (!body) return [];
    const lines = tailLines(text(body), this.tail);
    return [`   ${label}, last ${lines.length === 1 ? 'line' : `${lines.length} lines`}:`, ...lines.map((l) => this.c.dim(`     | ${l}`))];
  }

  private print(s: string): void {
    if (this.tty && this.statusShown) this.out.write(CLEAR_LINE);
    this.statusShown = '';
    this.out.write(s + '\n');
  }

  private drawStatus(): void {
    if (!this.tty) return;
    const parts: string[] = [];
    for (const r of this.collector.runs.values()) {
      if (r.status !== 'running') continue;
      for (const v of r.vms.values()) {
        const what = activity(v, r);
        if (what) parts.push(`${v.name}: ${what}`);
      }
    }
    let line = parts.join(' | ');
    if (line.length > this.columns - 1) line = line.slice(0, this.columns - 2) + '…';
    if (line === this.statusShown) return;
    this.out.write(CLEAR_LINE + (line ? this.c.dim(line) : ''));
    this.statusShown = line;
  }

  private clearStatus(): void {
    if (this.tty && this.statusShown) this.out.write(CLEAR_LINE);
    this.statusShown = '';
  }
}

/** What a VM is doing right now, for the status line. */
function activity(v: VmModel, r: RunModel): string | undefined {
  const step = r.steps.find((s) => s.on === v.name && s.status === 'running');
  if (step) return `step ${step.index + 1} "${text(step.name)}"`;
  if (v.teardown && v.teardown.end === undefined) return 'tearing down';
  if (v.image && v.image.end === undefined) return `building image (${v.image.builder})`;
  if (v.boot && v.boot.end === undefined) return v.waiting ? `waiting for SSH (${Math.floor(v.waiting.elapsedMs / 1000)}s)` : 'booting';
  return undefined;
}

function vmSummary(v: VmModel): string {
  const parts: string[] = [];
  if (v.image) parts.push(v.image.reused ? 'image reused' : v.image.end !== undefined ? `image built ${formatDuration(v.image.end - v.image.start)}` : 'image not built');
  if (v.boot?.outcome === 'ready') parts.push(`SSH ready ${formatDuration(v.boot.readyElapsedMs ?? (v.boot.end ?? v.boot.start) - v.boot.start)}`);
  else if (v.boot) parts.push(`never ready${v.waiting ? ` (waited ${formatDuration(v.waiting.elapsedMs)})` : ''}`);
  if (v.accel) parts.push(v.accel.accel);
  if (v.teardown?.action) parts.push(`teardown ${v.teardown.action}`);
  return parts.join(', ') || v.status;
}

function key(runId: string, vm: string): string {
  return `${runId}\0${vm}`;
}

/** Untrusted text on a terminal: no escape codes of its own, no control characters. */
function text(s: string): string {
  return cleanText(s);
}

export function createTerminalReporter(o: TerminalReporterOptions): TerminalReporter {
  return new TerminalReporter(o);
}
