import { describe, expect, it } from 'vitest';
import { RunCollector } from '../run-model.js';
import { bootTimeoutRun, failedRun, SAMPLE_START } from '../testing/sample-events.js';
import { renderTimeline, timelineOf } from './timeline.js';

function model(events: ReturnType<typeof failedRun>) {
  const c = new RunCollector();
  events.forEach((e) => c.apply(e));
  return [...c.runs.values()][0]!;
}

describe('timeline', () => {
  it('derives each VM phase from event timestamps', () => {
    const t = timelineOf(model(failedRun()));
    expect(t.rows.map((r) => r.name)).toEqual(['server', 'client']);
    const server = t.rows[0]!;
    const span = (phase: string) => server.bars.filter((b) => b.phase === phase).map((b) => [b.start - SAMPLE_START, b.end - b.start, b.state]);
    expect(span('image')).toEqual([[0, 12_300, 'ok']]);
    // Boot runs from the Starting status to vm.ready: 250 ms until qemu is up, then 14 s to SSH.
    expect(span('boot')).toEqual([[12_360, 14_250, 'ok']]);
    expect(server.readyAt! - SAMPLE_START).toBe(12_360 + 14_250);
    expect(span('step')).toEqual([[expect.any(Number), 2500, 'failed']]);
    expect(span('teardown')).toEqual([[expect.any(Number), 15, 'ok']]);
    // The skipped step never ran: no bar.
    expect(t.rows[1]!.bars.filter((b) => b.phase === 'step').map((b) => b.state)).toEqual(['ok']);
  });

  it('ends a boot that never answered SSH where teardown began, as failed', () => {
    const t = timelineOf(model(bootTimeoutRun()));
    const boot = t.rows.find((r) => r.name === 'client')!.bars.find((b) => b.phase === 'boot')!;
    const teardown = t.rows.find((r) => r.name === 'client')!.bars.find((b) => b.phase === 'teardown')!;
    expect(boot.state).toBe('failed');
    expect(boot.end).toBe(teardown.start);
    expect(t.rows.find((r) => r.name === 'client')!.readyAt).toBeUndefined();
  });

  it('positions bars in percent of the run and escapes VM names', () => {
    const r = model(failedRun());
    const html = renderTimeline(timelineOf(r));
    const total = r.finishedAt! - r.startedAt;
    const width = Number(/data-vm="server".*?class="bar image ok" style="left:0\.000%;width:([\d.]+)%"/.exec(html)?.[1]);
    expect(width).toBeCloseTo((12_300 / total) * 100, 2);
    const evil = model(failedRun().map((e) => ('vm' in e && e.vm === 'client' ? { ...e, vm: '<b>x</b>' } : e)));
    expect(renderTimeline(timelineOf(evil))).toContain('data-vm="&lt;b&gt;x&lt;/b&gt;"');
  });
});
