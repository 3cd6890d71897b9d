// A loaded scenario becomes a Plan: defaults resolved, teardown policy decided (CLI flags override the file),
// and the machines to start in order. Nothing here touches the disk or the network.
import type { TeardownPolicy } from './events.js';
import type { Scenario, VmConfig } from './scenario/schema.js';

export interface PlanOptions {
  /** Overrides the scenario's `teardown:` (from --keep, --keep-on-failure, --preserve-disk). */
  teardown?: TeardownPolicy;
  /** Prefix for VM names, so the same scenario can run twice side by side (e.g. tests). */
  namePrefix?: string;
  /** Force an acceleration for every VM (CI on TCG, `--accel tcg`). */
  accel?: VmConfig['accel'];
  /** How long to wait for a VM lock another run holds; 0 = refuse at once. */
  lockWaitMs?: number;
}

export interface PlannedVm {
  /** Name in the scenario (what steps' `on:` use). */
  key: string;
  /** Name on disk (vms/<name>/), with the prefix. */
  name: string;
  config: VmConfig;
}

export interface Plan {
  scenario: Scenario;
  file: string;
  dir: string;
  teardown: TeardownPolicy;
  vms: PlannedVm[];
  lockWaitMs: number;
}

export function makePlan(loaded: { scenario: Scenario; file: string; dir: string }, opts: PlanOptions = {}): Plan {
  const s = loaded.scenario;
  return {
    scenario: s,
    file: loaded.file,
    dir: loaded.dir,
    teardown: opts.teardown ?? s.teardown,
    lockWaitMs: opts.lockWaitMs ?? 0,
    vms: Object.entries(s.vms).map(([key, config]) => ({
      key,
      name: `${opts.namePrefix ?? ''}${key}`,
      config: opts.accel ? { ...config, accel: opts.accel } : config,
    })),
  };
}
