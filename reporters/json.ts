// JSON reporter: collects the run's events and, on close, writes its RunReport (the same content
// `harness runs show --json` prints for that run) to a file, atomically.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HarnessEvent, Subscriber } from '../harness/events.js';
import { runReportFromEvents } from '../harness/store/run-report-from-events.js';
import { runReportJson, type RunReport } from '../harness/store/run-report.js';

export class JsonReporter implements Subscriber {
  private readonly events: HarnessEvent[] = [];

  constructor(readonly path: string) {}

  onEvent(e: HarnessEvent): void {
    this.events.push(e);
  }

  /** The report so far (undefined before the first event). */
  report(): RunReport | undefined {
    return this.events.length ? runReportFromEvents(this.events) : undefined;
  }

  close(): void {
    const report = this.report();
    if (!report) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, runReportJson(report));
    renameSync(tmp, this.path);
  }
}
