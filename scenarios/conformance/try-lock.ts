// Helper run as a CHILD process by the conformance suite: tries to take a VM lock once (no waiting) and prints
// what happened as one JSON line, so the suite can prove the lock excludes other processes, not just itself.
import { acquireLock } from '../../harness/lock.js';
import { LockBusy } from '../../harness/errors.js';

const lockPath = process.argv[2];
if (!lockPath) {
  console.log(JSON.stringify({ outcome: 'usage', message: 'usage: try-lock.ts <lockPath>' }));
  process.exit(2);
}
try {
  const release = await acquireLock(lockPath, 'conformance probe', { waitMs: 0 });
  await release();
  console.log(JSON.stringify({ outcome: 'acquired', pid: process.pid }));
} catch (e) {
  if (e instanceof LockBusy) console.log(JSON.stringify({ outcome: 'busy', name: e.name, holderPid: e.holder.pid, message: e.message }));
  else console.log(JSON.stringify({ outcome: 'error', message: (e as Error).message }));
}
