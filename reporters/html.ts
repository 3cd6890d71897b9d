// The HTML reporter: one self-contained file (inline CSS, no script, no external URL) that a person opens from
// a CI artifact: the run's verdict, a timeline of each VM's phases, the steps with failures and output tails,
// and each VM's console log. Every piece of captured text is cleaned and HTML-escaped.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HarnessEvent, Subscriber } from '../harness/events.js';
import { bootFailure, keepHint, RunCollector, runEnd, stepCounts, type RunModel, type VmModel } from './run-model.js';
import { REPORT_CSS } from './html/style.js';
import { renderTimeline, timelineOf } from './html/timeline.js';
import { loadConsoles, type ConsoleSource } from './log-tail.js';
import { formatDuration, tailLines } from './text.js';
import { escapeHtml as h } from './xml-escape.js';

export interface HtmlReporterOptions {
  /** Where the report goes; written when the reporter closes. */
  path: string;
  /** Relative console-log paths in artifact events resolve against this (default: the process cwd). */
  baseDir?: string;
  /** Console lines kept per VM (from events, or the tail of the log file). */
  consoleLines?: number;
  /** Lines of stdout/stderr shown per failed step. */
  tailLines?: number;
}

/** Renders the whole page for the collected runs (normally one). */
export function renderHtml(runs: RunModel[], consoles: Map<string, ConsoleSource>, o: { tailLines?: number } = {}): string {
  const title = runs.length === 1 ? `${runs[0]!.scenario}: ${runs[0]!.status}` : `harness report (${runs.length} runs)`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No network at all: a report opened from an artifact store must not phone home.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${h(title)}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head><body><main>',
    ...runs.map((r) => renderRun(r, consoles.get(r.runId) ?? new Map(), o.tailLines ?? 40)),
    '</main></body></html>',
    '',
  ].join('\n');
}

function renderRun(r: RunModel, consoles: ConsoleSource, tail: number): string {
  const c = stepCounts(r);
  const took = r.durationMs ?? runEnd(r) - r.startedAt;
  const status = r.status === 'running' ? 'did not finish' : r.status;
  return [
    `<section class="run" data-run="${h(r.runId)}">`,
    `<h1>${h(r.scenario)}<span class="badge ${h(r.status)}">${h(status)}</span></h1>`,
    `<div class="meta">${h(r.file ?? '')} · run ${h(r.runId)} · ${h(r.host ?? '')} · started ${h(new Date(r.startedAt).toISOString())} · ${h(formatDuration(took))}` +
      (r.exitCode !== undefined ? ` · exit ${r.exitCode}` : '') +
      '</div>',
    `<p class="counts"><span>${c.total} steps</span><span class="${c.passed ? 'n-passed' : ''}">${c.passed} passed</span><span class="${c.failed ? 'n-failed' : ''}">${c.failed} failed</span><span>${c.skipped} skipped</span></p>`,
    renderRunError(r.error),
    '<h2>Timeline</h2>',
    renderTimeline(timelineOf(r)),
    '<h2>Steps</h2>',
    renderSteps(r, tail),
    '<h2>Machines</h2>',
    renderVms(r),
    r.logs.length ? `<h2>Messages</h2><ul class="logs">${r.logs.map((l) => `<li class="${l.level}">${h(`${l.level}: ${l.message}`)}</li>`).join('')}</ul>` : '',
    '<h2>Console logs</h2>',
    renderConsoles(r, consoles),
    '</section>',
  ].join('\n');
}

/** The run's error: its first line up front; the rest (a BootTimeout's console lines, a stack) folded. */
function renderRunError(error: string | undefined): string {
  if (!error) return '';
  const [head, ...rest] = error.split('\n');
  const more = rest.join('\n').trim();
  return `<p class="error-line run-error">${h(head!)}</p>` + (more ? `<details class="run-error-details"><summary>full error</summary><pre>${h(more)}</pre></details>` : '');
}

function renderSteps(r: RunModel, tail: number): string {
  if (r.steps.length === 0) return '<p class="meta">No step ran.</p>';
  const rows = r.steps.map((s) => {
    const exit = s.exitCode === undefined ? '' : s.exitCode === null ? 'none' : String(s.exitCode);
    const row =
      `<tr class="step ${s.status}" data-index="${s.index}"><td class="num">${s.index + 1}</td><td>${h(s.on)}</td><td>${h(s.name)}</td>` +
      `<td class="status ${s.status}">${s.status === 'running' ? 'did not finish' : s.status}</td>` +
      `<td class="num">${s.durationMs !== undefined ? h(formatDuration(s.durationMs)) : ''}</td>` +
      `<td>${s.command !== undefined ? `<code>${h(s.command)}</code>` : ''}</td><td class="num">${h(exit)}</td></tr>`;
    if (s.status !== 'failed' && s.status !== 'running') return row;
    const detail = [
      s.error ? `<div class="error-line">${h(s.error)}</div>` : '',
      s.stdoutTail ? `<div>stdout (last lines)</div><pre class="stdout">${h(tailLines(s.stdoutTail, tail).join('\n'))}</pre>` : '',
      s.stderrTail ? `<div>stderr (last lines)</div><pre class="stderr">${h(tailLines(s.stderrTail, tail).join('\n'))}</pre>` : '',
    ].join('');
    return `${row}\n<tr class="detail" data-index="${s.index}"><td></td><td colspan="6">${detail}</td></tr>`;
  });
  return `<table class="steps"><thead><tr><th>#</th><th>on</th><th>step</th><th>status</th><th>time</th><th>command</th><th>exit</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function renderVms(r: RunModel): string {
  if (r.vms.size === 0) return '<p class="meta">No machine.</p>';
  const rows = [...r.vms.values()].map((v) => {
    const hint = keepHint(v);
    return (
      `<tr data-vm="${h(v.name)}"><td>${h(v.name)}</td><td>${h([v.provider, v.arch].filter(Boolean).join(' '))}</td>` +
      `<td>${v.accel ? `${h(v.accel.accel)} <span class="meta">(${h(v.accel.reason)})</span>` : ''}</td>` +
      `<td>${v.image ? h(`${v.image.builder}, ${v.image.reused ? 'reused' : 'built'}${v.image.end !== undefined ? ` in ${formatDuration(v.image.end - v.image.start)}` : ''}`) : ''}</td>` +
      `<td>${h(readiness(v))}</td>` +
      `<td>${v.teardown?.action ? h(v.teardown.action) : ''}${hint ? `<div class="hint"><code>${h(hint)}</code></div>` : ''}</td></tr>` +
      (problems(r, v).length ? `\n<tr class="detail"><td></td><td colspan="5">${problems(r, v).map((m) => `<div class="error-line">${h(m)}</div>`).join('')}</td></tr>` : '')
    );
  });
  return `<table class="vms"><thead><tr><th>machine</th><th>provider</th><th>accel</th><th>image</th><th>SSH</th><th>teardown</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** What went wrong with a machine: its error events and, if it never got ready, why. */
function problems(r: RunModel, v: VmModel): string[] {
  const msgs = v.errors.map((e) => e.message);
  const boot = bootFailure(r, v);
  if (boot && !msgs.includes(boot)) msgs.unshift(boot);
  return msgs;
}

function readiness(v: VmModel): string {
  if (v.boot?.outcome === 'ready') return `ready after ${formatDuration(v.boot.readyElapsedMs ?? (v.boot.end ?? v.boot.start) - v.boot.start)}`;
  if (v.boot) return `never ready${v.waiting ? ` (waited ${formatDuration(v.waiting.elapsedMs)}${v.waiting.lastError ? `, last error: ${v.waiting.lastError}` : ''})` : ''}`;
  return v.status;
}

function renderConsoles(r: RunModel, consoles: ConsoleSource): string {
  const parts = [...r.vms.values()].map((v) => {
    const src = consoles.get(v.name);
    if (!src || src.lines.length === 0) return '';
    // Machines that failed open by default: their console is usually the answer.
    const openAttr = v.errors.length || bootFailure(r, v) ? ' open' : '';
    return `<details class="console" data-vm="${h(v.name)}"${openAttr}><summary>${h(v.name)} <span class="meta">(${src.lines.length} lines, from ${h(src.from)})</span></summary><pre>${h(src.lines.join('\n'))}</pre></details>`;
  });
  return parts.join('\n') || '<p class="meta">No console output.</p>';
}

/** Collects the stream, and on close reads console log files and writes the page. */
export class HtmlReporter implements Subscriber {
  private readonly collector: RunCollector;
  private readonly consoleLines: number;
  constructor(private readonly o: HtmlReporterOptions) {
    this.consoleLines = o.consoleLines ?? 2000;
    this.collector = new RunCollector({ consoleLines: this.consoleLines });
  }
  onEvent(e: HarnessEvent): void {
    this.collector.apply(e);
  }
  async close(): Promise<void> {
    const runs = [...this.collector.runs.values()];
    const consoles = new Map<string, ConsoleSource>();
    for (const r of runs) consoles.set(r.runId, await loadConsoles(r, this.o.baseDir ?? process.cwd(), this.consoleLines));
    await mkdir(dirname(this.o.path), { recursive: true });
    await writeFile(this.o.path, renderHtml(runs, consoles, { tailLines: this.o.tailLines }));
  }
}

export function createHtmlReporter(o: HtmlReporterOptions): HtmlReporter {
  return new HtmlReporter(o);
}
