// Labels that mark a container as the harness's, so a later run can tell its own orphans from everyone else's.
// harness.pid + harness.host say which process owns it: when that process is dead (same host), it is an orphan.
import { hostname } from 'node:os';

export const LABEL_OWNER = 'harness.owner';
export const OWNER = 'vm-harness';
export const LABEL_RUN_ID = 'harness.run-id';
export const LABEL_PID = 'harness.pid';
export const LABEL_HOST = 'harness.host';
export const LABEL_NAME = 'harness.name';
/** The container's state dir; a container.json there with `kept: true` exempts it from reaping. */
export const LABEL_DIR = 'harness.dir';

/** The labels every container the harness starts carries. */
export function harnessLabels(runId: string, name: string, pid = process.pid, dir?: string): Record<string, string> {
  return {
    [LABEL_OWNER]: OWNER,
    [LABEL_RUN_ID]: runId,
    [LABEL_PID]: String(pid),
    [LABEL_HOST]: hostname(),
    [LABEL_NAME]: name,
    ...(dir ? { [LABEL_DIR]: dir } : {}),
  };
}
