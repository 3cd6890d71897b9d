// The one interface every backend implements. A reader finds a backend's whole story in its own file.
import type { Accel, EmittedEvent, TeardownPolicy, VmStatus } from '../events.js';
import type { VmConfig } from '../scenario/schema.js';
import type { BuiltImage } from '../../iso/types.js';

// The image builders (iso/) own the image's type; providers take it, so the contract re-exports it.
export type { BuiltImage, DirectBoot } from '../../iso/types.js';

/** What `probe()` found: whether the backend can work here, and if not why and how to fix it. */
export interface ProbeResult {
  provider: string;
  available: boolean;
  /** One sentence: why not (or what was found). */
  reason: string;
  /** The exact command that installs or starts what is missing. */
  fix?: string;
  details?: Record<string, string>;
}

/** Everything a provider needs to start one machine. */
export interface MachineSpec {
  name: string;
  config: VmConfig;
  image: BuiltImage;
  /** The VM's state directory (vms/<name>). */
  dir: string;
  vmsDir: string;
  runId?: string;
  /** Recorded in vm.json so crash recovery reaps by the run's policy (keep is never reaped). */
  teardown?: TeardownPolicy;
  emit: (e: EmittedEvent) => void;
  signal?: AbortSignal;
}

/** A machine whose process is up (not necessarily SSH-ready). */
export interface StartedMachine {
  name: string;
  provider: string;
  sshHost: string;
  sshPort: number;
  /** Extra forwards, guest port -> host port on 127.0.0.1. */
  forwards: Record<number, number>;
  accel: Accel;
  consoleLog: string;
  dir: string;
  pid?: number;
  /** Resolves false once the machine's process is gone; lets waits fail fast with "VM exited". */
  isAlive(): Promise<boolean>;
}

export interface CleanOptions {
  preserveDisk?: boolean;
}

/** What `forceClean` needs besides CleanOptions. */
export interface ForceCleanOptions extends CleanOptions {
  /** Teardown policy keep: kill the machine but leave its state (dir, domain definition, container) in place. */
  keep?: boolean;
  /** Upper bound for each call to a daemon (virsh, dockerd), so a slow one cannot hold the exit. */
  timeoutMs?: number;
  /** The planned config, for what vm.json would say if the machine died before writing it (e.g. the libvirt URI). */
  config?: VmConfig;
}

/**
 * What a forceClean found still running and ended itself. Only the force path kills this way (a graceful stop asks
 * the guest, then QMP, `virsh destroy` or `docker stop`), so it goes into the run's record as the proof that the
 * second signal, not the graceful teardown, ended the machine. Empty lists: nothing was left running to kill.
 */
export interface ForceCleaned {
  /** Machine processes (qemu) found alive and SIGKILLed. */
  killedPids: number[];
  /** Containers (ids) removed with `rm -f`, no `docker stop` grace (with `keep`: killed, left in place). */
  killedContainers: string[];
}

export interface Provider {
  readonly name: string;
  probe(): Promise<ProbeResult>;
  /** Boots the machine; returns once its process runs (readiness is checked by the caller). */
  start(spec: MachineSpec): Promise<StartedMachine>;
  /** Status by the pidfile rule; `sshAnswers` decides Starting vs Running. Never takes the lock. */
  status(name: string, vmsDir: string): Promise<VmStatus>;
  /** Reattaches to a machine started earlier (e.g. `harness vm ssh` on a kept VM). */
  attach(name: string, vmsDir: string): Promise<StartedMachine | undefined>;
  /** Stops the machine, keeping its disk: the guest is asked to shut down cleanly first, within a grace period. */
  stop(name: string, vmsDir: string): Promise<void>;
  clean(name: string, vmsDir: string, options?: CleanOptions): Promise<void>;
  /** The second Ctrl-C: kill at once (no guest shutdown, no grace), then clean by policy. Never waits unbounded. */
  forceClean?(name: string, vmsDir: string, options?: ForceCleanOptions): Promise<ForceCleaned>;
}
