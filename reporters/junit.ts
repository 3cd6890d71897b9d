// JUnit XML for CI systems: one <testsuite> per scenario run, one <testcase> per step (classname scenario.vm),
// failures with the command, exit code and output tails, and the VMs' console tails in <system-out>.
// A VM that never became ready (boot timeout) or a run that errored outside any step becomes an <error> testcase,
// so CI shows the failure even when no step ran.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HarnessEvent, Subscriber } from '../harness/events.js';
import { truncationNotes } from '../harness/steps/truncation.js';
import { loadConsoles, type ConsoleSource } from './log-tail.js';
import { bootFailure, RunCollector, runEnd, type RunModel, type StepModel } from './run-model.js';
import { tailLines } from './text.js';
import { escapeXmlAttr as attr, escapeXmlText as esc } from './xml-escape.js';

export interface JunitReporterOptions {
  /** Where the XML goes; written when the reporter closes. */
  path: string;
  /** Relative console-log paths in artifact events resolve against this (default: the process cwd). */
  baseDir?: string;
  /** Console lines per VM in <system-out>. */
  consoleLines?: number;
  /** Lines of stdout/stderr per failure. */
  tailLines?: number;
}

interface Case {
  name: string;
  classname: string;
  seconds: number;
  outcome?: { kind: 'failure' | 'error' | 'skipped'; message: string; type: string; body: string };
}

/** Renders every collected run as one <testsuites> document. */
export function renderJunit(runs: RunModel[], consoles: Map<string, ConsoleSource> = new Map(), o: { tailLines?: number } = {}): string {
  const tail = o.tailLines ?? 50;
  const suites = runs.map((r) => suiteOf(r, consoles.get(r.runId) ?? new Map(), tail));
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped') => suites.reduce((n, s) => n + s[k], 0);
  const time = suites.reduce((n, s) => n + s.seconds, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="harness" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" skipped="${sum('skipped')}" time="${secs(time)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

function suiteOf(r: RunModel, consoles: ConsoleSource, tail: number) {
  const cases: Case[] = r.steps.map((s) => stepCase(r, s, tail));
  const [errorHead] = (r.error ?? '').split('\n');
  let runErrorShown = r.status === 'failed' && r.steps.some((x) => x.status === 'failed');
  for (const v of r.vms.values()) {
    const boot = bootFailure(r, v);
    const msgs = v.errors.map((x) => x.message);
    if (boot && !msgs.includes(boot)) msgs.unshift(boot);
    if (msgs.length === 0) continue;
    const attributed = boot !== undefined && boot === errorHead;
    if (attributed) runErrorShown = true;
    const cons = consoles.get(v.name);
    const body = [
      ...(attributed ? [r.error!] : msgs),
      ...(attributed ? msgs.slice(1) : []),
      ...(cons ? ['', `console (last ${Math.min(tail, cons.lines.length)} lines of ${cons.from}):`, ...cons.lines.slice(-tail)] : []),
    ];
    cases.push({
      name: boot ? 'boot' : 'vm',
      classname: `${r.scenario}.${v.name}`,
      seconds: v.boot ? ((v.boot.end ?? runEnd(r)) - v.boot.start) / 1000 : 0,
      outcome: { kind: 'error', message: msgs[0]!, type: boot ? 'BootFailure' : 'VmError', body: body.join('\n') },
    });
  }
  if (r.status !== 'passed' && !runErrorShown && !cases.some((c) => c.outcome && c.outcome.kind !== 'skipped')) {
    const message = r.error ?? (r.status === 'running' ? 'the run did not finish' : `run ended with status ${r.status}`);
    cases.push({ name: 'run', classname: r.scenario, seconds: 0, outcome: { kind: 'error', message: message.split('\n')[0]!, type: 'RunError', body: message } });
  }

  const count = (k: 'failure' | 'error' | 'skipped') => cases.filter((c) => c.outcome?.kind === k).length;
  const seconds = (r.durationMs ?? runEnd(r) - r.startedAt) / 1000;
  const props: Array<[string, string]> = [
    ['runId', r.runId],
    ['status', r.status],
    ...(r.exitCode !== undefined ? ([['exitCode', String(r.exitCode)]] as Array<[string, string]>) : []),
    ...[...r.vms.values()].flatMap((v): Array<[string, string]> => (v.accel ? [[`${v.name}.accel`, v.accel.accel]] : [])),
  ];
  const consoleOut = [...consoles.entries()]
    .map(([vm, c]) => [`==> ${vm} console (last ${c.lines.length} lines of ${c.from}) <==`, ...c.lines].join('\n'))
    .join('\n\n');
  const logs = r.logs.map((l) => `${l.level}: ${l.message}`).join('\n');
  const xml = [
    `  <testsuite name="${attr(r.scenario)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" ` +
      `time="${secs(seconds)}" timestamp="${new Date(r.startedAt).toISOString().slice(0, 19)}"` +
      (r.host ? ` hostname="${attr(r.host)}"` : '') +
      (r.file ? ` file="${attr(r.file)}"` : '') +
      '>',
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${attr(k)}" value="${attr(v)}"/>`),
    '    </properties>',
    ...cases.map((k) => caseXml(k, r.file)),
    `    <system-out>${esc(consoleOut)}</system-out>`,
    `    <system-err>${esc(logs)}</system-err>`,
    '  </testsuite>',
  ].join('\n');
  return { xml, tests: cases.length, failures: count('failure'), errors: count('error'), skipped: count('skipped'), seconds };
}

function stepCase(r: RunModel, s: StepModel, tail: number): Case {
  const base = { name: s.name, classname: `${r.scenario}.${s.on}`, seconds: (s.durationMs ?? (s.startedAt !== undefined ? runEnd(r) - s.startedAt : 0)) / 1000 };
  if (s.status === 'passed') return base;
  if (s.status === 'skipped') return { ...base, outcome: { kind: 'skipped', message: s.error ?? 'skipped', type: 'Skipped', body: '' } };
  const body: string[] = [];
  if (s.command !== undefined) body.push(`command: ${s.command}`);
  if (s.exitCode !== undefined) body.push(`exit code: ${s.exitCode === null ? 'none (killed or disconnected)' : s.exitCode}`);
  if (s.error) body.push(`error: ${s.error}`);
  body.push(...truncationNotes(s.droppedBytes, s.outputCapBytes));
  if (s.stdoutTail) body.push('stdout (tail):', ...tailLines(s.stdoutTail, tail).map((l) => `  ${l}`));
  if (s.stderrTail) body.push('stderr (tail):', ...tailLines(s.stderrTail, tail).map((l) => `  ${l}`));
  if (s.status === 'running') return { ...base, outcome: { kind: 'error', message: 'step did not finish', type: 'StepAborted', body: body.join('\n') } };
  const message = s.error ?? (s.exitCode !== undefined ? `exit code ${s.exitCode}` : 'step failed');
  return { ...base, outcome: { kind: 'failure', message, type: 'AssertionFailed', body: body.join('\n') } };
}

function caseXml(k: Case, file: string | undefined): string {
  const open = `    <testcase name="${attr(k.name)}" classname="${attr(k.classname)}" time="${secs(k.seconds)}"${file ? ` file="${attr(file)}"` : ''}`;
  if (!k.outcome) return `${open}/>`;
  const o = k.outcome;
  const inner =
    o.kind === 'skipped'
      ? `      <skipped message="${attr(o.message)}"/>`
      : `      <${o.kind} message="${attr(o.message)}" type="${attr(o.type)}">${esc(o.body)}</${o.kind}>`;
  return `${open}>\n${inner}\n    </testcase>`;
}

function secs(s: number): string {
  return Math.max(0, s).toFixed(3);
}

/** Collects the stream and writes the XML file on close. */
export class JunitReporter implements Subscriber {
  private readonly collector: RunCollector;
  constructor(private readonly o: JunitReporterOptions) {
    this.collector = new RunCollector({ consoleLines: o.consoleLines ?? 200 });
  }
  onEvent(e: HarnessEvent): void {
    this.collector.apply(e);
  }
  async close(): Promise<void> {
    const runs = [...this.collector.runs.values()];
    const consoles = new Map<string, ConsoleSource>();
    for (const r of runs) consoles.set(r.runId, await loadConsoles(r, this.o.baseDir ?? process.cwd(), this.o.consoleLines ?? 200));
    await mkdir(dirname(this.o.path), { recursive: true });
    await writeFile(this.o.path, renderJunit(runs, consoles, { tailLines: this.o.tailLines }));
  }
}

export function createJunitReporter(o: JunitReporterOptions): JunitReporter {
  return new JunitReporter(o);
}
