// Plain-text views of run records for `harness runs list | show | flaky`.
import { truncationNotes } from '../../steps/truncation.js';
import type { RunReport } from '../../store/run-report.js';
import type { FlakyStep, RunSummary } from '../../store/queries/runs.js';

const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)}s`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatRunList(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no runs match\n';
  return table(
    ['ID', 'SCENARIO', 'STATUS', 'STARTED', 'DURATION', 'STEPS', 'ACCEL'],
    runs.map((r) => [r.id, r.scenario, r.status, time(r.startedAt), secs(r.durationMs), `${r.passed} ok / ${r.failed} failed${r.skipped ? ` / ${r.skipped} skipped` : ''}`, r.accel ?? '-']),
  );
}

function indent(s: string, by = '      '): string {
  return s.split('\n').map((l) => by + l).join('\n');
}

/** Runs this one is linked to that its own record does not name (found by `runsLinkingTo`). */
export interface RunLinks {
  /** The vitest reporter's run for the test file whose suite recorded this run. */
  recordedBy?: readonly string[];
}

export function formatRunReport(r: RunReport, links: RunLinks = {}): string {
  const out: string[] = [];
  out.push(`run ${r.id}  ${r.status.toUpperCase()}${r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}`);
  out.push(`  scenario  ${r.scenario}${r.file ? `  (${r.file})` : ''}`);
  out.push(`  started   ${time(r.startedAt)}   finished ${time(r.finishedAt)}   duration ${secs(r.durationMs)}`);
  out.push(`  host      ${r.host || '-'}   accel ${r.accel ?? '-'}`);
  if (r.error) out.push(`  error     ${r.error}`);
  out.push(...vitestLinks(r, links));
  if (r.vms.length) {
    out.push('', 'machines:');
    for (const v of r.vms) {
      out.push(`  ${v.name}  ${v.provider ?? '?'} ${v.arch ?? ''} ${v.cpus ?? '?'} cpu ${v.memoryMiB ?? '?'} MiB  ssh ${v.sshPort ?? '-'}  accel ${v.accel ?? '-'}  last status ${v.status ?? '-'}`);
    }
  }
  out.push('', `steps: ${r.summary.passed} passed, ${r.summary.failed} failed, ${r.summary.skipped} skipped`);
  for (const s of r.steps) {
    const mark = s.status === 'passed' ? 'ok  ' : s.status === 'failed' ? 'FAIL' : 'skip';
    out.push(`  ${mark} step ${s.index + 1} ${s.name}  on ${s.on}  ${secs(s.durationMs)}`); // 1-based, as the terminal reporter counts
    for (const note of truncationNotes(s.droppedBytes, s.outputCapBytes)) out.push(`      ${note}`); // passed steps too: output was lost
    if (s.status !== 'failed') continue;
    if (s.command !== null) out.push(`      command: ${s.command}`);
    if (s.exitCode !== null) out.push(`      exit code: ${s.exitCode}`);
    if (s.error) out.push(indent(s.error));
    if (s.stdoutTail) out.push('      stdout (tail):', indent(s.stdoutTail, '        '));
    if (s.stderrTail) out.push('      stderr (tail):', indent(s.stderrTail, '        '));
  }
  if (r.artifacts.length) {
    out.push('', 'artifacts:');
    for (const a of r.artifacts) out.push(`  ${a.kind.padEnd(14)} ${a.path}${a.vm ? `  (${a.vm})` : ''}`);
  }
  if (r.timeline.length) {
    out.push('', 'timeline:');
    for (const t of r.timeline) out.push(`  ${time(t.at)}  +${secs(t.at - r.startedAt).padStart(7)}  ${t.vm}  ${t.severity.padEnd(8)} ${t.type}: ${t.message}`);
  }
  if (r.tasks.length) {
    out.push('', 'provider tasks:');
    for (const t of r.tasks) out.push(`  ${t.provider} ${t.operation} ${t.taskId}  ${t.status}${t.exitStatus ? ` (${t.exitStatus})` : ''}`);
  }
  if (r.containers.length) {
    out.push('', 'containers:');
    for (const c of r.containers) out.push(`  ${c.name}  ${c.image}  ${c.status}  ${c.ports.map((p) => `127.0.0.1:${p.host}->${p.container}`).join(', ')}`);
  }
  return out.join('\n') + '\n';
}

/** A vitest file's run names its useScenario runs (machines, timeline, console); such a run names its test file's run. */
function vitestLinks(r: RunReport, links: RunLinks): string[] {
  const out: string[] = [];
  const o = r.options;
  if (o.runner === 'vitest' && typeof o.testFile === 'string') {
    const suite = typeof o.suite === 'string' ? ` > ${o.suite}` : '';
    const by = links.recordedBy?.length ? `   the file's run: ${links.recordedBy.join(', ')}` : '';
    out.push(`  vitest    ${o.testFile}${suite}${by}`);
  }
  const scenarioRuns = Array.isArray(o.scenarioRuns) ? o.scenarioRuns.filter((x): x is string => typeof x === 'string') : [];
  if (scenarioRuns.length) out.push(`  scenario runs  ${scenarioRuns.join(', ')}   (machines, timeline, console: harness runs show ID)`);
  return out;
}

export function formatFlaky(rows: readonly FlakyStep[], last: number): string {
  if (rows.length === 0) return `no flaky steps in the last ${last} runs of any scenario\n`;
  return table(['SCENARIO', 'STEP', 'RUNS', 'PASSED', 'FAILED', 'LAST FAILED RUN'], rows.map((f) => [f.scenario, f.step, String(f.runs), String(f.passed), String(f.failed), f.lastFailedRun]));
}
