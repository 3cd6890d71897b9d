// The typed event stream every stage emits. The recorder (SQLite) and every reporter subscribe to the same bus;
// nothing else writes to the terminal or the database.

export type VmStatus =
  | 'NotCreated'
  | 'Stopped'
  | 'Starting'
  | 'Running'
  | 'Stopping'
  | 'Suspending'
  | 'Suspended'
  | 'Resuming'
  | 'Error'
  | 'Unknown';

export type RunStatus = 'running' | 'passed' | 'failed' | 'aborted' | 'invalid' | 'error';
export type StepStatus = 'passed' | 'failed' | 'skipped';
export type Severity = 'Info' | 'Warning' | 'Error' | 'Critical';
export type VmEventKind = 'StatusChanged' | 'ConfigurationUpdated' | 'ErrorOccurred' | 'UserAction' | 'SystemEvent';
export type Accel = 'kvm' | 'tcg';

interface Base {
  runId: string;
  /** Epoch milliseconds. */
  at: number;
}

export type HarnessEvent = Base &
  (
    | { type: 'run.started'; scenario: string; file: string; host: string; options: Record<string, unknown> }
    | { type: 'run.finished'; status: RunStatus; exitCode: number; durationMs: number; error?: string }
    | { type: 'image.started'; vm: string; builder: string }
    | { type: 'image.finished'; vm: string; builder: string; path: string; cacheKey: string; reused: boolean; durationMs: number }
    | {
        type: 'vm.created';
        vm: string;
        provider: string;
        arch: string;
        cpus: number;
        memoryMiB: number;
        disk?: string;
        sshPort?: number;
        dir: string;
      }
    | { type: 'vm.status'; vm: string; from: VmStatus; to: VmStatus; message?: string }
    | { type: 'vm.accel'; vm: string; accel: Accel; reason: string }
    | { type: 'vm.waiting'; vm: string; phase: 'tcp' | 'handshake' | 'command'; elapsedMs: number; lastError?: string }
    | { type: 'vm.ready'; vm: string; elapsedMs: number }
    | { type: 'vm.event'; vm: string; kind: VmEventKind; severity: Severity; message: string; details?: Record<string, unknown> }
    /**
     * One line a machine printed. console: the serial console; container: a container's own log; command: what the
     * harness ran (a step's command line, and notes such as output truncation); stdout/stderr: that command's output.
     */
    | { type: 'vm.log'; vm: string; stream: 'console' | 'command' | 'container' | 'stdout' | 'stderr'; line: string }
    | { type: 'step.started'; index: number; name: string; on: string }
    | {
        type: 'step.finished';
        index: number;
        name: string;
        on: string;
        status: StepStatus;
        durationMs: number;
        command?: string;
        exitCode?: number | null;
        error?: string;
        stdoutTail?: string;
        stderrTail?: string;
        /** Bytes the output cap dropped from the start of each stream of the last command (present when a command ran). */
        droppedBytes?: { stdout: number; stderr: number };
        /** The output cap of that command, per stream: only its last outputCapBytes bytes were kept. */
        outputCapBytes?: number;
      }
    | { type: 'artifact'; vm?: string; kind: 'console-log' | 'container-log' | 'kubeconfig' | 'report' | 'disk'; path: string }
    | { type: 'teardown.started'; vm: string; policy: TeardownPolicy }
    | { type: 'teardown.finished'; vm: string; policy: TeardownPolicy; action: 'destroyed' | 'kept' | 'disk-preserved'; hint?: string }
    /**
     * The second SIGINT/SIGTERM: a machine (VM or container) ended by the force path instead of its graceful teardown.
     * killedPids / killedContainers: what was still running and was killed there and then (empty: nothing was left).
     */
    | { type: 'teardown.forced'; vm: string; policy: TeardownPolicy; signal: string; killedPids: number[]; killedContainers: string[] }
    | { type: 'task'; vm?: string; provider: string; taskId: string; operation: string; status: 'running' | 'stopped'; exitStatus?: string }
    | {
        type: 'container.state';
        name: string;
        image: string;
        id?: string;
        status: string;
        ports: Array<{ container: number; host: number }>;
      }
    | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  );

export type TeardownPolicy = 'destroy' | 'keep' | 'keep-on-failure' | 'preserve-disk';

export type EventType = HarnessEvent['type'];
export type EventOf<T extends EventType> = Extract<HarnessEvent, { type: T }>;
/** An event as a stage emits it: the bus stamps runId and time. */
export type EmittedEvent = HarnessEvent extends infer E ? (E extends HarnessEvent ? Omit<E, 'runId' | 'at'> & { at?: number } : never) : never;

export interface Subscriber {
  /** Called synchronously for each event in order. Must not throw; errors are reported once and the subscriber dropped. */
  onEvent(e: HarnessEvent): void;
  /** Called once when the run is over (flush files, close handles). */
  close?(): void | Promise<void>;
}

/** A fan-out bus: one ordered stream, many subscribers. */
export class EventBus {
  private readonly subscribers: Subscriber[] = [];
  readonly history: HarnessEvent[] = [];
  constructor(readonly runId: string, private readonly keepHistory = true) {}

  subscribe(s: Subscriber): () => void {
    this.subscribers.push(s);
    return () => {
      const i = this.subscribers.indexOf(s);
      if (i >= 0) this.subscribers.splice(i, 1);
    };
  }

  emit(e: EmittedEvent): HarnessEvent {
    const full = { ...e, runId: this.runId, at: e.at ?? Date.now() } as HarnessEvent;
    if (this.keepHistory) this.history.push(full);
    for (const s of [...this.subscribers]) {
      try {
        s.onEvent(full);
      } catch (err) {
        this.subscribers.splice(this.subscribers.indexOf(s), 1);
        process.stderr.write(`harness: a subscriber failed and was removed: ${(err as Error).message}\n`);
      }
    }
    return full;
  }

  async close(): Promise<void> {
    for (const s of this.subscribers) {
      try {
        await s.close?.();
      } catch (err) {
        process.stderr.write(`harness: a subscriber failed to close: ${(err as Error).message}\n`);
      }
    }
  }
}
