// What the shared conformance suite needs from a machine kind (VM provider, container, ...). The suite owns the
// order and the generic checks (statuses, lock, clean leaves nothing); a subject supplies the per-kind parts:
// how readiness is reached (SSH vs exec), what the "disk" is, and what a never-ready boot fails with.
import type { EmittedEvent, VmStatus } from '../../harness/events.js';
import type { CleanOptions } from '../../harness/providers/provider.js';
import type { Target } from '../../harness/targets/target.js';

/** A started machine, whatever its kind. */
export interface SubjectMachine {
  /** Resolves false once the machine's process (qemu, the container) is gone. */
  isAlive(): Promise<boolean>;
}

/** Given once per suite, before the subject is made. */
export interface SubjectContext {
  /** A fresh, empty vms dir for this suite only. */
  vmsDir: string;
  emit: (e: EmittedEvent) => void;
}

export interface ConformanceSubject<M extends SubjectMachine = SubjectMachine> {
  /** Starts `name` (from nothing, or from its preserved disk); resolves once its process runs. */
  start(name: string): Promise<M>;
  /** Waits for readiness the way a run does (SSH for VMs, exec for containers) and returns a Target. */
  ready(machine: M): Promise<Target>;
  status(name: string): Promise<VmStatus>;
  stop(name: string): Promise<void>;
  /** After stop: evidence the guest shut itself down (not killed), or a reason it can't tell. Absent: not checked. */
  stoppedGracefully?(name: string): Promise<boolean>;
  clean(name: string, options?: CleanOptions): Promise<void>;
  /** Whatever of `name` still exists outside its state dir (live pids, containers, volumes), described; [] = nothing. */
  leftovers(name: string, machine?: M): Promise<string[]>;
  disk: {
    /** The state dir's entries after clean --preserve-disk, sorted. */
    preservedFiles: string[];
    /** Before stop: put something on the disk (or note its identity) to find again after the restart. */
    beforeStop(name: string, target: Target): Promise<void>;
    /** Right after clean --preserve-disk, before the restart. */
    afterPreserve(name: string): Promise<void>;
    /** After the restart from the preserved disk is ready: asserts it is the same disk. */
    afterRestart(name: string, target: Target): Promise<void>;
  };
  /**
   * Boots `name` set up so it can never be ready within a 3 s timeout, waits for that, and returns what it failed
   * with (asserting its kind-specific fields) plus the machine if one was handed back; it must not be ready.
   */
  neverReady(name: string): Promise<{ error: unknown; machine?: M }>;
  /** Frees what the subject holds (the suite cleans every machine first). */
  dispose?(): Promise<void>;
}
