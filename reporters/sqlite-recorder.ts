// The recorder: the one subscriber that writes the run record to SQLite. Events are buffered and written in
// batches (one IMMEDIATE transaction per flush) so a chatty console costs little; a flush happens every
// `flushEvery` events, after `flushIntervalMs`, at run start/finish (so a crashed run's row and pid are on disk
// early), on process exit, and on close.
import type { HarnessEvent, Subscriber } from '../harness/events.js';
import { openDatabase, resolveDbPath, type Db } from '../harness/store/db.js';
import { EventWriter, type WriterOptions } from '../harness/store/write-events.js';
import { runExists } from '../harness/store/queries/runs.js';
import type { RunRecordAppender } from '../harness/vm-action-record.js';

export interface RecorderOptions extends WriterOptions {
  /** Flush when this many events are buffered (default 500). */
  flushEvery?: number;
  /** Flush at most this long after an event arrives (default 100 ms). */
  flushIntervalMs?: number;
  /** Events kept in memory while the database refuses writes, before the oldest are dropped (default 100,000). */
  maxBuffered?: number;
}

export interface RecorderStats {
  events: number;
  flushes: number;
  failedFlushes: number;
  dropped: number;
  /** Milliseconds spent inside onEvent and flush: the recorder's share of a run's wall time. */
  busyMs: number;
}

export class SqliteRecorder implements Subscriber {
  private buffer: HarnessEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private warned = false;
  private readonly writer: EventWriter;
  private readonly flushEvery: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  private readonly counters: RecorderStats = { events: 0, flushes: 0, failedFlushes: 0, dropped: 0, busyMs: 0 };
  private readonly onExit = () => this.flush();

  /** Opens (and migrates) the database at `path`, default HARNESS_DB or vms/harness.db; closes it on close(). */
  static async open(path: string = resolveDbPath(undefined), opts: RecorderOptions = {}): Promise<SqliteRecorder> {
    const db = await openDatabase(path);
    return new SqliteRecorder(db, opts, true);
  }

  constructor(readonly db: Db, opts: RecorderOptions = {}, private readonly ownsDb = false) {
    this.writer = new EventWriter(db, opts);
    this.flushEvery = opts.flushEvery ?? 500;
    this.flushIntervalMs = opts.flushIntervalMs ?? 100;
    this.maxBuffered = opts.maxBuffered ?? 100_000;
    process.on('exit', this.onExit);
  }

  onEvent(e: HarnessEvent): void {
    if (this.closed) return;
    const t0 = performance.now();
    this.buffer.push(e);
    this.counters.events++;
    if (e.type === 'run.started' || e.type === 'run.finished' || this.buffer.length >= this.flushEvery) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.flushIntervalMs).unref();
    this.counters.busyMs += performance.now() - t0;
  }

  /** Writes everything buffered now. Never throws: a failed batch stays buffered and is retried on the next flush. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0 || !this.db.open) return;
    const t0 = performance.now();
    const batch = this.buffer;
    this.buffer = [];
    try {
      this.writer.write(batch);
      this.counters.flushes++;
    } catch (err) {
      this.counters.failedFlushes++;
      this.buffer = batch.concat(this.buffer);
      const over = this.buffer.length - this.maxBuffered;
      if (over > 0) {
        this.buffer.splice(0, over);
        this.counters.dropped += over;
      }
      if (!this.warned) {
        this.warned = true;
        process.stderr.write(`harness: could not write the run record to ${this.db.name} (will retry): ${(err as Error).message}\n`);
      }
      if (!this.closed && !this.timer) this.timer = setTimeout(() => this.flush(), this.flushIntervalMs).unref();
    }
    this.counters.busyMs += performance.now() - t0;
  }

  stats(): RecorderStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    process.off('exit', this.onExit);
    if (this.buffer.length > 0) {
      process.stderr.write(`harness: ${this.buffer.length} events could not be written to ${this.db.name}\n`);
    }
    if (this.ownsDb) this.db.close();
  }
}

/**
 * The record at `path` opened to append to runs already in it (`harness vm` actions, the crash reaper): what the
 * CLI hands the core as its OpenRunRecord. Rejects when the database cannot be opened.
 */
export async function openRunAppender(path: string): Promise<RunRecordAppender> {
  const recorder = await SqliteRecorder.open(path, { existingRunsOnly: true });
  return { onEvent: (e) => recorder.onEvent(e), hasRun: (runId) => runExists(recorder.db, runId), close: () => recorder.close() };
}
