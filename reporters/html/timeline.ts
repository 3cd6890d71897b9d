// The timeline of a run: one row per VM (or container) with its phases as bars positioned by event timestamps,
// rendered as plain CSS boxes (left/width in percent of the run), so the page needs no script to draw it.
import { runEnd, type RunModel } from '../run-model.js';
import { formatDuration } from '../text.js';
import { escapeHtml as h } from '../xml-escape.js';

export type Phase = 'image' | 'boot' | 'step' | 'teardown';

export interface Bar {
  phase: Phase;
  start: number;
  end: number;
  /** ok / failed / kept etc.: becomes a CSS class. */
  state: 'ok' | 'failed' | 'skipped' | 'running';
  label: string;
}

export interface TimelineRow {
  name: string;
  bars: Bar[];
  /** When SSH answered, if it did. */
  readyAt?: number;
}

export interface Timeline {
  start: number;
  end: number;
  rows: TimelineRow[];
}

/** Phases per machine from the run model; open phases end where the run ended. */
export function timelineOf(r: RunModel): Timeline {
  const end = Math.max(runEnd(r), r.startedAt + 1);
  const rows = new Map<string, TimelineRow>();
  const row = (name: string) => {
    let x = rows.get(name);
    if (!x) rows.set(name, (x = { name, bars: [] }));
    return x;
  };
  for (const v of r.vms.values()) {
    const x = row(v.name);
    if (v.image) {
      x.bars.push({
        phase: 'image',
        start: v.image.start,
        end: v.image.end ?? end,
        state: v.image.end === undefined ? 'failed' : 'ok',
        label: `image ${v.image.builder} ${v.image.reused ? 'reused' : 'built'}`,
      });
    }
    if (v.boot) {
      const failed = v.boot.outcome !== 'ready';
      x.bars.push({ phase: 'boot', start: v.boot.start, end: v.boot.end ?? end, state: failed ? 'failed' : 'ok', label: failed ? 'boot: never answered SSH' : 'boot until SSH ready' });
      if (!failed) x.readyAt = v.boot.end;
    }
    if (v.teardown) {
      x.bars.push({ phase: 'teardown', start: v.teardown.start, end: v.teardown.end ?? end, state: 'ok', label: `teardown: ${v.teardown.action ?? 'unfinished'}` });
    }
  }
  for (const s of r.steps) {
    if (s.startedAt === undefined || s.status === 'skipped') continue; // a skipped step never ran: nothing to draw
    row(s.on).bars.push({
      phase: 'step',
      start: s.startedAt,
      end: s.finishedAt ?? end,
      state: s.status === 'passed' ? 'ok' : s.status,
      label: `step ${s.index + 1}: ${s.name}`,
    });
  }
  return { start: r.startedAt, end, rows: [...rows.values()] };
}

/** Percent of the run's span, clamped to the chart. */
function pct(t: Timeline, at: number): number {
  return Math.min(100, Math.max(0, ((at - t.start) / (t.end - t.start)) * 100));
}

/** Round tick spacing so the axis shows about 6-10 labels. */
function tickStep(spanMs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600].map((s) => s * 1000);
  return steps.find((s) => spanMs / s <= 10) ?? 7200_000;
}

export function renderTimeline(t: Timeline): string {
  const span = t.end - t.start;
  const step = tickStep(span);
  const ticks: string[] = [];
  for (let at = 0; at <= span; at += step) {
    ticks.push(`<span class="tick" style="left:${pct(t, t.start + at).toFixed(3)}%">${at === 0 ? '0s' : h(formatDuration(at))}</span>`);
  }
  const rows = t.rows.map((row) => {
    const bars = row.bars.map((b) => {
      const left = pct(t, b.start);
      const width = Math.max(0, pct(t, b.end) - left);
      const title = `${row.name}: ${b.label} (${formatDuration(b.end - b.start)})`;
      return (
        `<div class="bar ${b.phase} ${b.state}" style="left:${left.toFixed(3)}%;width:${width.toFixed(3)}%" ` +
        `data-phase="${b.phase}" data-state="${b.state}" data-duration-ms="${Math.round(b.end - b.start)}" title="${h(title)}"></div>`
      );
    });
    if (row.readyAt !== undefined) {
      bars.push(`<div class="ready-mark" style="left:${pct(t, row.readyAt).toFixed(3)}%" title="${h(`${row.name}: SSH ready`)}"></div>`);
    }
    return `<div class="row" data-vm="${h(row.name)}"><div class="row-label">${h(row.name)}</div><div class="track">${bars.join('')}</div></div>`;
  });
  return [
    '<div class="timeline">',
    ...rows,
    `<div class="row axis"><div class="row-label"></div><div class="track">${ticks.join('')}</div></div>`,
    '<div class="legend"><span class="key image"></span>image <span class="key boot"></span>boot <span class="key ready"></span>SSH ready ' +
      '<span class="key step ok"></span>step passed <span class="key step failed"></span>step failed <span class="key teardown"></span>teardown</div>',
    '</div>',
  ].join('\n');
}
