// The second Ctrl-C: no more waiting for graceful teardown. Kill every machine of the plan and remove its state.
import type { HarnessPaths } from './paths.js';
import type { Plan } from './plan.js';
import { vmFiles } from './paths.js';
import { breakLock } from './lock.js';
import { livePid, removeVmDir } from './providers/vm-state.js';

export async function forceCleanup(plan: Plan, paths: HarnessPaths): Promise<void> {
  await Promise.all(
    plan.vms.map(async (v) => {
      const pid = await livePid(paths.vms, v.name);
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }
      if (plan.teardown !== 'keep') await removeVmDir(paths.vms, v.name, plan.teardown === 'preserve-disk');
      await breakLock(vmFiles(paths.vms, v.name).lock);
    }),
  );
}
